//! Attaching a file from the ticket page (customers in the portal, agents on the
//! desk): a `multipart/form-data` form with one file, through the same use case as the
//! API, so the name is checked, the type sniffed and the file scanned the same way.

use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::Visibility;

use super::UiError;
use super::pages::ticket_page_refusing;
use crate::api::tickets::validate_filename;
use crate::{AppError, AppState, Caller};

/// The form's fields, read before anything is stored.
struct Upload {
    filename: String,
    content: Vec<u8>,
    visibility: Visibility,
}

pub async fn ticket_attach(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, UiError> {
    let upload = match read_form(multipart, s.config.max_attachment_bytes).await {
        Ok(upload) => upload,
        Err(AppError::BadRequest(why)) => {
            return ticket_page_refusing(
                &s,
                &caller,
                &id,
                crate::locale::refusal(&why),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        Err(AppError::PayloadTooLarge) => {
            let why = too_large(s.config.max_attachment_bytes);
            return ticket_page_refusing(&s, &caller, &id, why, StatusCode::PAYLOAD_TOO_LARGE).await;
        }
        Err(e) => return Err(e.into()),
    };
    let file = palisade_service::NewFile {
        filename: upload.filename,
        visibility: upload.visibility,
        content: upload.content,
    };
    match s
        .desk()
        .attach(&caller.actor(), &id, file)
        .await
        .map_err(AppError::from)
    {
        Ok(_) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(AppError::BadRequest(why)) => {
            ticket_page_refusing(
                &s,
                &caller,
                &id,
                crate::locale::refusal(&why),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn read_form(mut form: Multipart, max_bytes: usize) -> Result<Upload, AppError> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut visibility = Visibility::Public;
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("visibility") => {
                visibility = Visibility::parse(&field.text().await.map_err(malformed)?)?;
            }
            Some("file") if file.is_none() => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let filename = validate_filename(&name)?;
                file = Some((filename, bounded(field, max_bytes).await?));
            }
            _ => return Err(AppError::bad_request("refusal-form-field")),
        }
    }
    let Some((filename, content)) = file else {
        return Err(AppError::bad_request("refusal-choose-file"));
    };
    if content.is_empty() {
        return Err(AppError::bad_request("refusal-file-empty"));
    }
    Ok(Upload {
        filename,
        content,
        visibility,
    })
}

/// What the page says of a file over the limit.
pub(super) fn too_large(max_bytes: usize) -> String {
    crate::locale::text_with(
        "file-too-large",
        &[(
            "count",
            palisade_i18n::Arg::Number(i64::try_from(max_bytes / 1024).unwrap_or(i64::MAX)),
        )],
    )
}

/// The file's bytes, refusing more than `max_bytes` as soon as they arrive.
pub(super) async fn bounded(mut field: Field<'_>, max_bytes: usize) -> Result<Vec<u8>, AppError> {
    let mut content = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        if content.len() + chunk.len() > max_bytes {
            return Err(AppError::PayloadTooLarge);
        }
        content.extend_from_slice(&chunk);
    }
    Ok(content)
}

pub(super) fn malformed(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::bad_request("refusal-form-unreadable")
    }
}
