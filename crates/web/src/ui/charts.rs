//! Charts drawn on the server as SVG: no script and no style attribute, so they sit in
//! a page under its strict content security policy; every text in them is escaped.

use std::fmt::Write;

/// Text as SVG (XML) character data or an attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const HEIGHT: usize = 160;
const BAR: usize = 8;

/// Two bars per column (`first` and `second`, e.g. opened and solved per day), with a
/// title and a legend; each bar carries its value in a `<title>` for pointer users.
pub fn paired_columns(title: &str, columns: &[(String, usize, usize)], first: &str, second: &str) -> String {
    let max = columns
        .iter()
        .map(|(_, a, b)| (*a).max(*b))
        .max()
        .unwrap_or(0)
        .max(1);
    let width = (columns.len() * (2 * BAR + 4)).max(120) + 40;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {}" width="100%" height="{}"><title>{}</title>"#,
        HEIGHT + 40,
        HEIGHT + 40,
        escape(title)
    );
    for (i, (label, a, b)) in columns.iter().enumerate() {
        let x = 30 + i * (2 * BAR + 4);
        for (j, (value, class, name)) in [(*a, "first", first), (*b, "second", second)]
            .into_iter()
            .enumerate()
        {
            let h = value * HEIGHT / max;
            let _ = write!(
                svg,
                r#"<rect class="bar {class}" x="{}" y="{}" width="{BAR}" height="{h}"><title>{}: {} {value}</title></rect>"#,
                x + j * BAR,
                10 + HEIGHT - h,
                escape(label),
                escape(name),
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="30" y="{}" class="legend first">■ {}</text><text x="160" y="{}" class="legend second">■ {}</text></svg>"#,
        HEIGHT + 32,
        escape(first),
        HEIGHT + 32,
        escape(second)
    );
    svg
}

/// One horizontal bar per row (a group's value), labelled.
pub fn rows(title: &str, rows: &[(String, usize)]) -> String {
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let height = rows.len() * 22 + 10;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 520 {height}" width="100%" height="{height}"><title>{}</title>"#,
        escape(title)
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 5 + i * 22;
        let w = value * 300 / max;
        let _ = write!(
            svg,
            r#"<text x="0" y="{}" class="label">{}</text><rect class="bar first" x="190" y="{}" width="{w}" height="16"><title>{}: {value}</title></rect><text x="{}" y="{}" class="value">{value}</text>"#,
            y + 13,
            escape(&label.chars().take(28).collect::<String>()),
            y,
            escape(label),
            196 + w,
            y + 13,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_charts_are_text_never_markup() {
        let svg = rows("Created", &[("<script>alert(1)</script>".into(), 3)]);
        assert!(
            !svg.contains("<script>") && svg.contains("&lt;script&gt;"),
            "{svg}"
        );
        assert!(!svg.contains("style="));
        let svg = paired_columns("Days", &[("\"x\"".into(), 2, 1)], "opened", "solved");
        assert!(
            svg.contains("&quot;x&quot;") && svg.matches("<rect").count() == 2,
            "{svg}"
        );
    }
}
