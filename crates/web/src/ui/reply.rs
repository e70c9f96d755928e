//! The ticket page's reply form: a reply or internal note, its secure delivery, files
//! already attached and ticked to go with it, and files chosen right in the form
//! (`multipart/form-data`; a form without files may also come URL-encoded). Chosen
//! files are attached first through the same use case as the file form — named,
//! sniffed, scanned — with the message's visibility, then sent with it.

use axum::Form;
use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::{AttachmentId, Visibility};
use palisade_i18n::Refusal;

use super::UiError;
use super::files::{bounded, malformed, too_large};
use super::pages::{ticket_location, ticket_page_refusing};
use crate::api::tickets::validate_filename;
use crate::{AppError, AppState, Caller};

/// At most this many files chosen in one reply form.
pub const MAX_REPLY_FILES: usize = 5;

/// What the form sent.
#[derive(Default)]
struct ReplyForm {
    body: Option<String>,
    visibility: Option<String>,
    secure_delivery: bool,
    send_files: Vec<String>,
    new_files: Vec<(String, Vec<u8>)>,
}

pub async fn ticket_reply(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, UiError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let form = if multipart {
        let parts = Multipart::from_request(request, &s)
            .await
            .map_err(|_| AppError::bad_request("refusal-form-unreadable"))?;
        match read_multipart(parts, s.config.max_attachment_bytes).await {
            Ok(form) => form,
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
        }
    } else {
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(request, &s)
            .await
            .map_err(|_| AppError::bad_request("refusal-form-unreadable"))?;
        let mut form = ReplyForm::default();
        for (name, value) in fields {
            take_text(&mut form, &name, value)?;
        }
        form
    };
    let (Some(body), Some(visibility)) = (form.body, form.visibility) else {
        return Err(AppError::bad_request("refusal-reply-form").into());
    };
    let visibility = Visibility::parse(&visibility).map_err(AppError::from)?;
    let mut files = form
        .send_files
        .iter()
        .map(|f| AttachmentId::parse(f))
        .collect::<Result<Vec<_>, _>>()
        .map_err(AppError::from)?;
    let desk = s.desk();
    for (filename, content) in form.new_files {
        let file = palisade_service::NewFile {
            filename,
            visibility,
            content,
        };
        match desk
            .attach(&caller.actor(), &id, file)
            .await
            .map_err(AppError::from)
        {
            Ok(attached) => files.push(attached.id),
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
            Err(e) => return Err(e.into()),
        }
    }
    let sending = palisade_service::Sending {
        secure_delivery: form.secure_delivery,
        files,
    };
    match s.add_message(&caller, &id, &body, visibility, &sending).await {
        Ok((_, redacted)) => Ok(Redirect::to(&ticket_location(&id, &redacted)).into_response()),
        Err(AppError::BadRequest(msg)) => {
            ticket_page_refusing(
                &s,
                &caller,
                &id,
                crate::locale::refusal(&msg),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn take_text(form: &mut ReplyForm, name: &str, value: String) -> Result<(), AppError> {
    match name {
        "body" => form.body = Some(value),
        "visibility" => form.visibility = Some(value),
        "secure_delivery" => form.secure_delivery = true,
        "send_file" => form.send_files.push(value),
        _ => return Err(AppError::bad_request("refusal-form-field")),
    }
    Ok(())
}

async fn read_multipart(mut parts: Multipart, max_bytes: usize) -> Result<ReplyForm, AppError> {
    let mut form = ReplyForm::default();
    while let Some(field) = parts.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let chosen = field.file_name().unwrap_or_default().to_owned();
            let content = bounded(field, max_bytes).await?;
            // A file input left empty still sends a part, with no name and no bytes.
            if chosen.is_empty() && content.is_empty() {
                continue;
            }
            if form.new_files.len() == MAX_REPLY_FILES {
                return Err(AppError::BadRequest(
                    Refusal::new("reply-too-many-files").with("count", MAX_REPLY_FILES),
                ));
            }
            if content.is_empty() {
                return Err(AppError::bad_request("refusal-chosen-file-empty"));
            }
            form.new_files.push((validate_filename(&chosen)?, content));
        } else {
            let value = field.text().await.map_err(malformed)?;
            take_text(&mut form, &name, value)?;
        }
    }
    Ok(form)
}
