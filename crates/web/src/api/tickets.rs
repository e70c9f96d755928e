use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_core::{Priority, TagName, TeamId, TicketStatus, TicketType, UserId, Visibility};
use palisade_i18n::Refusal;
use palisade_store::TicketUpdate;

use super::dto::*;
use super::extract::{ApiBytes, ApiJson, ApiQuery};
use crate::{AppError, AppState, Caller, Problem};
use palisade_service::OpenTicket;

fn parse_status(s: &str) -> Result<TicketStatus, AppError> {
    TicketStatus::parse(s).map_err(AppError::from)
}

#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets",
    params(("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query), ("status" = Option<String>, Query)),
    responses((status = 200, body = TicketPage), (status = 401, body = Problem)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<TicketPage>, AppError> {
    let status = q.status.as_deref().map(parse_status).transpose()?;
    let page = s
        .list_tickets(
            &caller,
            status,
            q.cursor.as_deref(),
            super::contract::page_limit(q.limit, 50, super::contract::MAX_PAGE)?,
        )
        .await?;
    Ok(Json(TicketPage {
        items: page.items.iter().map(TicketView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = CreateTicketRequest,
    responses((status = 201, body = TicketView), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateTicketRequest>,
) -> Result<(StatusCode, Json<TicketView>), AppError> {
    let requester = req.requester_id.as_deref().map(UserId::parse).transpose()?;
    let team = req.team_id.as_deref().map(TeamId::parse).transpose()?;
    let (ticket, redacted) = s
        .create_ticket(
            &caller,
            OpenTicket {
                subject: req.subject,
                body: req.body,
                requester,
                team,
            },
        )
        .await?;
    let mut view = TicketView::from(&ticket);
    view.redacted = super::dto::redaction_notes(&redacted);
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/tickets/search", tag = "tickets",
    params(("q" = String, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = TicketPage)))]
pub async fn search(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<TicketPage>, AppError> {
    let hits = s
        .search_tickets(
            &caller,
            &q.q,
            super::contract::page_limit(q.limit, 20, super::contract::MAX_PAGE)?,
        )
        .await?;
    Ok(Json(TicketPage {
        items: hits.iter().map(TicketView::from).collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = TicketView), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TicketView>, AppError> {
    let (ticket, _) = s.readable_ticket(&caller, &id).await?;
    Ok(Json(TicketView::from(&ticket)))
}

#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "tickets", params(("id" = String, Path)),
    request_body = UpdateTicketRequest,
    responses((status = 200, body = TicketView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateTicketRequest>,
) -> Result<Json<TicketView>, AppError> {
    let update = TicketUpdate {
        status: req.status.as_deref().map(parse_status).transpose()?,
        assignee: req
            .assignee_id
            .map(|a| a.as_deref().map(UserId::parse).transpose())
            .transpose()?,
        team: req.team_id.as_deref().map(TeamId::parse).transpose()?,
        priority: req.priority.as_deref().map(Priority::parse).transpose()?,
        ticket_type: req
            .ticket_type
            .map(|t| t.as_deref().map(TicketType::parse).transpose())
            .transpose()?,
    };
    // Nothing to change is a change of nothing: the ticket as it is (still only for
    // those who may update it).
    let ticket = s.update_ticket(&caller, &id, update, req.version).await?;
    Ok(Json(TicketView::from(&ticket)))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/messages", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = Vec<MessageView>), (status = 404, body = Problem)))]
pub async fn messages(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<MessageView>>, AppError> {
    let detail = s.ticket_detail(&caller, &id).await?;
    Ok(Json(
        detail
            .messages
            .iter()
            .map(|m| MessageView::new(m, detail.html.get(&m.id)))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/messages", tag = "tickets", params(("id" = String, Path)),
    request_body = CreateMessageRequest,
    responses((status = 201, body = CreatedMessage), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "a file to send is not one of yours on this ticket, unsent, of this visibility", body = Problem)))]
pub async fn add_message(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CreateMessageRequest>,
) -> Result<(StatusCode, Json<CreatedMessage>), AppError> {
    let visibility = Visibility::parse(&req.visibility)?;
    if req.attachment_ids.len() > 20 {
        return Err(AppError::BadRequest(
            Refusal::new("refusal-files-per-message").with("max", 20_i64),
        ));
    }
    let sending = palisade_service::Sending {
        secure_delivery: req.secure_delivery,
        files: req
            .attachment_ids
            .iter()
            .map(|f| palisade_core::AttachmentId::parse(f))
            .collect::<Result<_, _>>()?,
    };
    let (message, redacted) = s
        .add_message(&caller, &id, &req.body, visibility, &sending)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedMessage {
            id: message.to_string(),
            redacted: super::dto::redaction_notes(&redacted),
        }),
    ))
}

#[utoipa::path(put, path = "/api/v1/tickets/{id}/tags", tag = "tickets", params(("id" = String, Path)),
    request_body = SetTagsRequest, responses((status = 200, body = TicketView)))]
pub async fn set_tags(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SetTagsRequest>,
) -> Result<Json<TicketView>, AppError> {
    let tags = req
        .tags
        .iter()
        .map(|t| TagName::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(TicketView::from(&s.set_tags(&caller, &id, tags).await?)))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/collaborators", tag = "tickets", params(("id" = String, Path)),
    request_body = AddCollaboratorRequest, responses((status = 200, body = TicketView)))]
pub async fn add_collaborator(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AddCollaboratorRequest>,
) -> Result<Json<TicketView>, AppError> {
    let user = UserId::parse(&req.user_id)?;
    Ok(Json(TicketView::from(
        &s.set_collaborator(&caller, &id, &user, true).await?,
    )))
}

#[utoipa::path(delete, path = "/api/v1/tickets/{id}/collaborators/{user_id}", tag = "tickets",
    params(("id" = String, Path), ("user_id" = String, Path)), responses((status = 200, body = TicketView)))]
pub async fn remove_collaborator(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<TicketView>, AppError> {
    let user = UserId::parse(&user_id).map_err(|_| AppError::NotFound)?;
    Ok(Json(TicketView::from(
        &s.set_collaborator(&caller, &id, &user, false).await?,
    )))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/attachments", tag = "attachments", params(("id" = String, Path)),
    responses((status = 200, body = Vec<AttachmentView>), (status = 404, body = Problem)))]
pub async fn attachments(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<AttachmentView>>, AppError> {
    let detail = s.ticket_detail(&caller, &id).await?;
    let desk = s.desk();
    Ok(Json(
        detail
            .attachments
            .iter()
            .map(|a| AttachmentView::new(a, &desk.availability(a)))
            .collect(),
    ))
}

/// File names are shown and offered as download names only; anything that could be a
/// path, smuggle a header or disguise the name (bidirectional overrides turning
/// `invoice_fdp.exe` into `invoice_exe.pdf`, zero-width characters) is refused rather
/// than cleaned up silently.
pub fn validate_filename(name: &str) -> Result<String, AppError> {
    let bad = name.is_empty()
        || name.len() > 255
        || name == "."
        || name == ".."
        || name.contains(['/', '\\'])
        || name
            .chars()
            .any(|c| c.is_control() || palisade_core::is_invisible(c))
        || name.starts_with('.');
    if bad {
        return Err(AppError::bad_request("refusal-file-name"));
    }
    Ok(name.to_owned())
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/attachments", tag = "attachments",
    params(("id" = String, Path), ("filename" = String, Query), ("visibility" = Option<String>, Query)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentView), (status = 413, body = Problem)))]
pub async fn upload(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    ApiBytes(body): ApiBytes,
) -> Result<(StatusCode, Json<AttachmentView>), AppError> {
    let visibility = Visibility::parse(q.visibility.as_deref().unwrap_or("public"))?;
    let file = palisade_service::NewFile {
        filename: validate_filename(&q.filename)?,
        visibility,
        content: body.to_vec(),
    };
    let desk = s.desk();
    let record = desk.attach(&caller.actor(), &id, file).await?;
    Ok((
        StatusCode::CREATED,
        Json(AttachmentView::new(&record, &desk.availability(&record))),
    ))
}

/// Every byte but the unreserved ones (RFC 3986) percent-encoded: safe in a header's
/// RFC 5987 value and in a query string alike.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut encoded = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    encoded
}

/// RFC 5987 encoding of a download name, so no header can be injected through it.
pub(crate) fn content_disposition(filename: &str) -> HeaderValue {
    let encoded = percent_encode(filename);
    HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "attachments", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = Problem),
        (status = 403, description = "blocked: the file matched a malware signature (type file-blocked)", body = Problem),
        (status = 503, description = "waiting for the malware scan (type scan-pending, with Retry-After)", body = Problem)))]
pub async fn download(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let file = s.desk().attachment(&caller.actor(), &id).await?;
    let disposition = content_disposition(&file.record.filename);
    Ok(sandboxed_file(file, disposition))
}

/// A raster image shown inline on the ticket page: the same decision and malware-scan
/// rule as the download, from the same sandboxed response (no origin, no script), for
/// PNG, JPEG, GIF and WebP by their bytes only; anything else has no preview (404).
#[utoipa::path(get, path = "/api/v1/attachments/{id}/preview", tag = "attachments", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/png"), (status = 404, body = Problem),
        (status = 403, description = "blocked: the file matched a malware signature (type file-blocked)", body = Problem),
        (status = 503, description = "waiting for the malware scan (type scan-pending, with Retry-After)", body = Problem)))]
pub async fn preview(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let file = s.desk().attachment(&caller.actor(), &id).await?;
    if !palisade_service::previewable(&file.record.content_type) {
        return Err(AppError::NotFound);
    }
    Ok(sandboxed_file(file, HeaderValue::from_static("inline")))
}

/// A stored file as a response that cannot act as a page of this origin: its sniffed
/// type, and a sandbox with nothing allowed.
fn sandboxed_file(file: palisade_store::AttachmentContent, disposition: HeaderValue) -> Response {
    let mut response = file.content.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&file.record.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A message as it arrived by mail, for staff who may read the ticket's internal side:
/// the headers, every part and the raw encoding the desk's reading of it leaves out.
#[utoipa::path(get, path = "/api/v1/messages/{id}/original", tag = "attachments", params(("id" = String, Path)),
    responses((status = 200, content_type = "message/rfc822"), (status = 404, body = Problem)))]
pub async fn original(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let raw = s.desk().original_message(&caller.actor(), &id).await?;
    let mut response = raw.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("message/rfc822"));
    h.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&format!("message-{id}.eml")),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_like_file_names_are_refused() {
        for bad in [
            "../etc/passwd",
            "..",
            "a/b",
            "a\\b",
            ".htaccess",
            "x\r\nSet-Cookie: a=b",
            "",
        ] {
            assert!(validate_filename(bad).is_err(), "{bad:?}");
        }
        for disguised in [
            "invoice_\u{202E}fdp.exe",
            "report\u{200B}.pdf",
            "a\u{2066}b.txt",
            "x\u{FEFF}.doc",
        ] {
            assert!(validate_filename(disguised).is_err(), "{disguised:?}");
        }
        assert_eq!(validate_filename("invoice 2024.pdf").unwrap(), "invoice 2024.pdf");
    }

    #[test]
    fn download_name_cannot_inject_headers() {
        let v = content_disposition("a\"b;\r\nx.txt");
        assert_eq!(
            v.to_str().unwrap(),
            "attachment; filename*=UTF-8''a%22b%3B%0D%0Ax.txt"
        );
    }
}
