//! The notice shown before every conversation with the assistant, one page per version
//! (`/privacy/notices/{version}`), open to everyone: a consent names a version, and
//! anyone holding one (the person, in their export; privacy staff) can read exactly
//! what it agreed to. The list shows every version, the current one first.

use super::filters;
use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use palisade_assist::assistant::{NOTICE_VERSIONS, current_notice, notice_version};

use super::help::Viewer;
use super::{UiError, render};
use crate::AppError;
use crate::caller::MaybeCaller;

struct VersionRow {
    version: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "notices.html")]
struct NoticesPage {
    viewer: Option<Viewer>,
    versions: Vec<VersionRow>,
}

#[derive(Template)]
#[template(path = "notice_version.html")]
struct NoticePage {
    viewer: Option<Viewer>,
    version: String,
    text: String,
    /// The version that replaced it, if it is not the current one.
    replaced_by: Option<String>,
}

pub async fn list(MaybeCaller(caller): MaybeCaller) -> Result<Response, UiError> {
    let current = current_notice().version;
    Ok(render(&NoticesPage {
        viewer: Viewer::of(caller.as_ref()),
        versions: NOTICE_VERSIONS
            .iter()
            .rev()
            .map(|n| VersionRow {
                version: n.version.to_owned(),
                current: n.version == current,
            })
            .collect(),
    }))
}

pub async fn show(
    MaybeCaller(caller): MaybeCaller,
    Path(version): Path<String>,
) -> Result<Response, UiError> {
    let notice = notice_version(&version).ok_or(AppError::NotFound)?;
    let replaced_by = NOTICE_VERSIONS
        .iter()
        .skip_while(|n| n.version != notice.version)
        .nth(1)
        .map(|n| n.version.to_owned());
    Ok(render(&NoticePage {
        viewer: Viewer::of(caller.as_ref()),
        version: notice.version.to_owned(),
        text: notice.text(crate::locale::current()).to_owned(),
        replaced_by,
    }))
}
