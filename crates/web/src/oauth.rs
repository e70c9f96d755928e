//! The OAuth 2.0 protocol endpoints other servers call (docs/INTEGRATIONS.md): the
//! token endpoint (RFC 6749 §3.2), revocation (RFC 7009), introspection (RFC 7662) and
//! the server's metadata (RFC 8414). Their requests and answers are the RFCs' (form
//! bodies in, `{"error": …}` out, never cached), not the API's problem documents, and
//! no cookie means anything to them: the client authenticates itself, with HTTP Basic
//! or in the body, never both.

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use palisade_identity::{ClientCredentials, OAuthRefusal, TokenRequest};
use serde_json::json;
use zeroize::Zeroizing;

use crate::AppState;
use crate::caller::RequestMeta;

/// The endpoints applications call with their own credentials (never a cookie).
pub const CLIENT_ENDPOINTS: [&str; 3] = ["/oauth/token", "/oauth/revoke", "/oauth/introspect"];

/// The scopes a token may carry, in the metadata.
const SCOPES: [&str; 7] = [
    "tickets:read",
    "tickets:write",
    "people:read",
    "people:write",
    "audit:read",
    "articles:read",
    "articles:write",
];

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A refusal on its way to becoming the RFC's answer.
#[derive(Clone, Copy, Debug)]
struct Reject(StatusCode, OAuthRefusal);

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        refused(self.0, self.1)
    }
}

fn refused(status: StatusCode, refusal: OAuthRefusal) -> Response {
    let body = Json(json!({ "error": refusal.error, "error_description": refusal.description }));
    let mut response = (status, body).into_response();
    if refusal.error == "invalid_client" {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"palisade\""),
        );
    }
    no_store(response)
}

fn invalid_request(description: &'static str) -> Reject {
    Reject(
        StatusCode::BAD_REQUEST,
        OAuthRefusal {
            error: "invalid_request",
            description,
        },
    )
}

fn server_error(e: impl std::fmt::Display) -> Reject {
    tracing::error!(error = %e, "OAuth endpoint failed");
    Reject(
        StatusCode::INTERNAL_SERVER_ERROR,
        OAuthRefusal {
            error: "server_error",
            description: "the server could not answer; try again",
        },
    )
}

/// The form's fields, each at most once (RFC 6749 §3.2: repeated parameters are an
/// invalid request).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> Result<Option<&str>, Reject> {
        let mut found = self.0.iter().filter(|(k, _)| k == name);
        let first = found.next().map(|(_, v)| v.as_str());
        if found.next().is_some() {
            return Err(invalid_request("a parameter was sent more than once"));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }
}

fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'%' => return None,
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Who the client says it is: HTTP Basic (RFC 6749 §2.3.1, each part form-encoded)
/// or `client_id` (and `client_secret`) in the body; both at once is refused.
fn client_credentials(headers: &HeaderMap, fields: &Fields) -> Result<ClientCredentials, Reject> {
    let body_id = fields.get("client_id")?;
    let body_secret = fields.get("client_secret")?;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    match (basic, body_id) {
        (Some(_), _) if body_secret.is_some() => Err(invalid_request("authenticate one way only")),
        (Some(encoded), _) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .map(Zeroizing::new)
                .ok_or_else(|| invalid_request("the Basic credentials are malformed"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| invalid_request("the Basic credentials are malformed"))?;
            let id =
                percent_decoded(id).ok_or_else(|| invalid_request("the Basic credentials are malformed"))?;
            if body_id.is_some_and(|b| b != id) {
                return Err(invalid_request("authenticate one way only"));
            }
            let secret = percent_decoded(secret)
                .ok_or_else(|| invalid_request("the Basic credentials are malformed"))?;
            Ok(ClientCredentials {
                id,
                secret: Some(Zeroizing::new(secret)),
            })
        }
        (None, Some(id)) => Ok(ClientCredentials {
            id: id.to_owned(),
            secret: body_secret.map(|s| Zeroizing::new(s.to_owned())),
        }),
        (None, None) => Err(Reject(
            StatusCode::UNAUTHORIZED,
            OAuthRefusal {
                error: "invalid_client",
                description: "client authentication failed",
            },
        )),
    }
}

async fn authenticated_client(
    s: &AppState,
    headers: &HeaderMap,
    fields: &Fields,
) -> Result<palisade_store::OAuthClient, Reject> {
    let credentials = client_credentials(headers, fields)?;
    match s.identity.authenticate_client(&credentials).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(refusal)) => Err(Reject(StatusCode::UNAUTHORIZED, refusal)),
        Err(e) => Err(server_error(e)),
    }
}

/// `POST /oauth/token`.
pub async fn token(
    State(s): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    match issue(&s, &meta, &headers, &Fields(fields)).await {
        Ok(response) => response,
        Err(reject) => reject.into_response(),
    }
}

async fn issue(
    s: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    fields: &Fields,
) -> Result<Response, Reject> {
    let client = authenticated_client(s, headers, fields).await?;
    let field = |name: &str| fields.get(name).map(|v| v.map(str::to_owned));
    let request = TokenRequest {
        grant_type: field("grant_type")?.ok_or_else(|| invalid_request("grant_type is missing"))?,
        code: field("code")?,
        redirect_uri: field("redirect_uri")?,
        code_verifier: field("code_verifier")?,
        refresh_token: field("refresh_token")?,
        scope: field("scope")?,
    };
    let mut ctx = meta.anonymous_audit();
    ctx.actor = client.id.clone();
    match s.identity.exchange_token(&client, &request, &ctx).await {
        Ok(Ok(issued)) => {
            let mut body = json!({
                "access_token": issued.access_token.as_str(),
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": issued.scopes.join(" "),
            });
            if let Some(refresh) = &issued.refresh_token {
                body["refresh_token"] = json!(refresh.as_str());
            }
            Ok(no_store((StatusCode::OK, Json(body)).into_response()))
        }
        Ok(Err(refusal)) => Err(Reject(StatusCode::BAD_REQUEST, refusal)),
        Err(e) => Err(server_error(e)),
    }
}

/// `POST /oauth/revoke` (RFC 7009): 200 whatever the token was.
pub async fn revoke(
    State(s): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    let result = async {
        let client = authenticated_client(&s, &headers, &fields).await?;
        let token = fields
            .get("token")?
            .ok_or_else(|| invalid_request("token is missing"))?;
        let mut ctx = meta.anonymous_audit();
        ctx.actor = client.id.clone();
        s.identity
            .revoke_token(&client, token, &ctx)
            .await
            .map_err(server_error)?;
        Ok::<_, Reject>(no_store(StatusCode::OK.into_response()))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /oauth/introspect` (RFC 7662), for the client the token was issued to.
pub async fn introspect(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    let result = async {
        let client = authenticated_client(&s, &headers, &fields).await?;
        let token = fields
            .get("token")?
            .ok_or_else(|| invalid_request("token is missing"))?;
        let found = s
            .identity
            .introspect_token(&client, token)
            .await
            .map_err(server_error)?;
        let body = if found.active {
            json!({
                "active": true,
                "scope": found.scopes.join(" "),
                "client_id": found.client_id,
                "sub": found.subject,
                "token_type": found.token_type,
                "exp": found.expires_at,
                "iat": found.issued_at,
                "iss": s.config.public_origin,
            })
        } else {
            json!({ "active": false })
        };
        Ok::<_, Reject>(no_store(Json(body).into_response()))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn metadata(State(s): State<AppState>) -> Response {
    let issuer = &s.config.public_origin;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{issuer}/help"),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(percent_decoded("cli%5Fa+b").as_deref(), Some("cli_a b"));
        assert_eq!(percent_decoded("pcs_x%3Ay").as_deref(), Some("pcs_x:y"));
        assert_eq!(percent_decoded("bad%zz"), None);
        assert_eq!(percent_decoded("bad%2"), None);
    }
}
