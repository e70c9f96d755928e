use serde::Serialize;

use crate::StoreError;

/// Position after the last item of a page: (sort key, id) of that item, written
/// `{key}.{id}` — a shape the API document can state exactly (a pattern), so a
/// client knows which cursors exist without building them from anything but a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// What the list is ordered by, for that item: a time in milliseconds, or for a
    /// list by priority the priority's rank and the time together.
    pub key: i64,
    pub id: String,
}

/// The cursors [`Cursor::decode`] accepts, as a regular expression.
pub const CURSOR_PATTERN: &str = r"^[0-9]{1,15}\.[A-Za-z0-9_-]{1,64}$";

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.key, self.id)
    }

    pub fn decode(text: &str) -> Result<Self, StoreError> {
        let (at, id) = text.split_once('.').ok_or(StoreError::InvalidCursor)?;
        let at_ok = (1..=15).contains(&at.len()) && at.bytes().all(|b| b.is_ascii_digit());
        let id_ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !at_ok || !id_ok {
            return Err(StoreError::InvalidCursor);
        }
        Ok(Self {
            key: at.parse().map_err(|_| StoreError::InvalidCursor)?,
            id: id.to_owned(),
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
