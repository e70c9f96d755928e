//! Request extractors whose failures are problem+json 4xx answers instead of axum's
//! plain-text rejections.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use palisade_i18n::Refusal;
use serde::de::DeserializeOwned;

use crate::AppError;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => {
                // serde also reads a struct from an array of its fields in order
                // (`[null, true]`): a body must have the shape the document declares, so
                // an array is taken only where a list is expected (a list type reads `[]`).
                if value.is_array()
                    && serde_json::from_value::<T>(serde_json::Value::Array(Vec::new())).is_err()
                {
                    return Err(AppError::bad_request("refusal-json-object"));
                }
                serde_json::from_value(value).map(Self).map_err(|e| {
                    AppError::BadRequest(Refusal::new("refusal-json-body").with("detail", e.to_string()))
                })
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(AppError::PayloadTooLarge)
            }
            Err(e) => Err(AppError::BadRequest(
                Refusal::new("refusal-request-unreadable").with("detail", e.body_text()),
            )),
        }
    }
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => Err(AppError::BadRequest(
                Refusal::new("refusal-request-unreadable").with("detail", e.body_text()),
            )),
            Err(e) => Err(AppError::BadRequest(
                Refusal::new("refusal-request-unreadable").with("detail", e.body_text()),
            )),
        }
    }
}

/// A raw request body (attachment uploads), with size-limit failures as problem+json.
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge)
            }
            Err(e) => Err(AppError::BadRequest(
                Refusal::new("refusal-request-unreadable").with("detail", e.body_text()),
            )),
        }
    }
}
