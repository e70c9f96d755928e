//! The HTML of received mail as agents see it, when a message has no plain-text part:
//! the article allow-list, plus rules for what strangers write. No image is ever
//! fetched from elsewhere (a remote image tells its sender who read the message, when
//! and from where): each becomes [`REMOTE_IMAGE_PLACEHOLDER`], except the message's own
//! inline images (`cid:`), which point at their file on the ticket — served, like any
//! file, only once scanned clean. Links keep only web and mail targets, never a path on
//! this server (one click must not act in the agent's session); the page's stylesheet
//! prints each link's real target beside its text.

use std::collections::HashMap;

use crate::article::{allow_list, strip_invisible};

/// What a remote or unusable image shows instead (a static asset of Palisade's own).
pub const REMOTE_IMAGE_PLACEHOLDER: &str = "/static/remote-image.svg";

/// Sanitises a message's HTML part for showing; `inline` maps a part's Content-ID
/// (without angle brackets) to the address of its file on the ticket.
pub fn sanitize_mail_html(html: &str, inline: HashMap<String, String>) -> String {
    let visible = strip_invisible(html);
    let mut builder = allow_list();
    // `cid:` must reach the filter below to be mapped; it never survives as a scheme.
    builder.add_url_schemes(["cid"]);
    builder.url_relative(ammonia::UrlRelative::PassThrough);
    builder.attribute_filter(move |element, attribute, value| match (element, attribute) {
        ("img", "src") => {
            let own = value
                .trim()
                .strip_prefix("cid:")
                .map(|cid| cid.trim_matches(['<', '>']))
                .and_then(|cid| inline.get(cid));
            Some(
                own.map_or(REMOTE_IMAGE_PLACEHOLDER, String::as_str)
                    .to_owned()
                    .into(),
            )
        }
        (_, "href" | "cite" | "src" | "action" | "formaction" | "longdesc" | "usemap") => {
            let lower = value.trim_start().to_ascii_lowercase();
            ["http://", "https://", "mailto:"]
                .iter()
                .any(|scheme| lower.starts_with(scheme))
                .then(|| value.into())
        }
        _ => Some(value.into()),
    });
    strip_invisible(&builder.clean(&visible).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline() -> HashMap<String, String> {
        HashMap::from([(
            "logo@customer.test".to_owned(),
            "/api/v1/attachments/att_AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        )])
    }

    #[test]
    fn remote_images_are_never_loaded_and_own_inline_images_are_shown() {
        let clean = sanitize_mail_html(
            r#"<p>Hi<img src="https://tracker.test/open.gif?u=7" alt="pixel"><img src="cid:logo@customer.test" alt="logo">
               <img src="cid:unknown@x"><img src="//evil.test/p.gif"><img src="/api/v1/me"><img src="data:image/png;base64,AAAA">
               <img src="javascript:alert(1)"></p>"#,
            inline(),
        );
        assert!(
            !clean.contains("tracker.test") && !clean.contains("evil.test"),
            "{clean}"
        );
        assert!(!clean.contains("/api/v1/me") && !clean.contains("data:") && !clean.contains("javascript:"));
        assert!(!clean.contains("cid:"), "{clean}");
        // Schemes ammonia refuses outright leave an image with no source at all.
        assert_eq!(clean.matches(REMOTE_IMAGE_PLACEHOLDER).count(), 4, "{clean}");
        assert_eq!(clean.matches("<img>").count(), 2, "{clean}");
        assert!(clean.contains(r#"src="/api/v1/attachments/att_AAAAAAAAAAAAAAAAAAAAAA""#));
        assert!(clean.contains(r#"alt="pixel""#));
    }

    #[test]
    fn links_keep_only_web_and_mail_targets() {
        let clean = sanitize_mail_html(
            r#"<a href="https://bank.test.evil.test/login">https://bank.test</a>
               <a href="/tickets/tkt_x/update">close</a><a href="javascript:alert(1)">x</a>
               <a href="mailto:ann@customer.test">mail</a><a href="cid:logo@customer.test">cid</a>
               <a href="  HTTPS://example.test/">upper</a>"#,
            inline(),
        );
        assert!(
            clean.contains(r#"href="https://bank.test.evil.test/login""#),
            "{clean}"
        );
        assert!(clean.contains(r#"href="mailto:ann@customer.test""#));
        assert!(
            !clean.contains("/tickets/") && !clean.contains("javascript:") && !clean.contains("cid:"),
            "{clean}"
        );
        assert!(clean.contains(r#"rel="noopener noreferrer nofollow""#));
        // The text of a removed link stays, as text.
        assert!(clean.contains("close"));
    }

    #[test]
    fn the_article_rules_apply_to_mail_too() {
        let clean = sanitize_mail_html(
            r#"<style>p{display:none}</style><p style="font-size:0" onclick="x()">Pay<script>steal()</script></p>
               <form action="https://evil.test"><input name="card"></form><iframe src="https://evil.test"></iframe>
               <p>Re&#x200B;fund</p><svg><script>1</script></svg>"#,
            HashMap::new(),
        );
        for banned in [
            "<style",
            "style=",
            "onclick",
            "<script",
            "<form",
            "<input",
            "<iframe",
            "<svg",
            "evil.test",
            "display:none",
        ] {
            assert!(!clean.contains(banned), "{banned} survived: {clean}");
        }
        assert!(
            clean.contains("<p>Pay</p>") && clean.contains("<p>Refund</p>"),
            "{clean}"
        );
    }
}
