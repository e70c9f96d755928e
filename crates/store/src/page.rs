use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::StoreError;

/// Position after the last item of a page: (created_at, id) of that item, encoded
/// opaquely so clients do not build cursors themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}", self.created_at, self.id))
    }

    pub fn decode(text: &str) -> Result<Self, StoreError> {
        if text.len() > 128 {
            return Err(StoreError::InvalidCursor);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| StoreError::InvalidCursor)?;
        let raw = String::from_utf8(raw).map_err(|_| StoreError::InvalidCursor)?;
        let (at, id) = raw.split_once('.').ok_or(StoreError::InvalidCursor)?;
        let created_at = at.parse().map_err(|_| StoreError::InvalidCursor)?;
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(StoreError::InvalidCursor);
        }
        Ok(Self {
            created_at,
            id: id.to_owned(),
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
