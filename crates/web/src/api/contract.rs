//! The OpenAPI document as a contract. `utoipa` writes what each handler declares; the
//! answers every route shares are added here, in one place, so no operation can forget
//! one: errors are RFC 9457 `application/problem+json`; every operation may answer 401,
//! 403, 404 (missing and refused look alike) and 429 (limits and the anomaly
//! detector); operations that take input may answer 400, and those with a body 413 and
//! 415. The list parameters every collection shares are given the bounds the server
//! enforces (`limit` 1–100, a non-empty `cursor`). Checked by `schemathesis` against the
//! served document in CI.

use serde_json::{Map, Value, json};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Answers an operation may give in any case, with why.
const EVERYWHERE: [(&str, &str); 4] = [
    ("401", "not signed in, or the credential is not valid"),
    ("403", "not allowed, or a step-up or second factor is owed"),
    (
        "404",
        "not found, or not visible to the caller (the two look alike)",
    ),
    ("429", "too many requests; `Retry-After` says when to try again"),
];

/// The largest page a list returns.
pub const MAX_PAGE: u32 = 100;

fn problem() -> Value {
    json!({ "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } })
}

fn ensure(responses: &mut Map<String, Value>, status: &str, description: &str) {
    responses
        .entry(status.to_owned())
        .or_insert_with(|| json!({ "description": description }));
}

/// The largest page of the audit trail.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// The list parameters' bounds, as the server checks them ([`page_limit`]).
fn bound_parameters(path: &str, operation: &mut Value) {
    let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    let max = if path == "/api/v1/audit" {
        MAX_AUDIT_PAGE
    } else {
        MAX_PAGE
    };
    for parameter in parameters {
        let name = parameter
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let schema = match name.as_str() {
            "limit" => json!({ "type": "integer", "minimum": 1, "maximum": max }),
            // The audit chain's position; any number the server can read.
            "after" => json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX }),
            "cursor" => json!({ "type": "string", "pattern": palisade_store::CURSOR_PATTERN }),
            "status" => one_of(&["new", "open", "pending", "solved", "closed"]),
            "visibility" => one_of(&["public", "internal"]),
            "locale" => json!({ "type": "string", "pattern": "^[a-z]{2,3}(-[A-Z]{2})?$" }),
            "from" | "to" if path == "/api/v1/reports" => day(),
            "group_by" => one_of(&["team", "agent", "channel", "priority", "company"]),
            // A plain name: no path, no control or invisible characters, no leading dot.
            "filename" => json!({
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "pattern": "^[^./\\\\\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff][^/\\\\\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*$"
            }),
            _ => continue,
        };
        parameter["schema"] = schema;
    }
}

/// The page size asked for, `default` when absent; outside 1..=`max` is refused, as the
/// document says.
pub fn page_limit<T>(limit: Option<T>, default: u32, max: u32) -> Result<u32, crate::AppError>
where
    T: TryInto<u32> + Copy,
{
    let Some(limit) = limit else {
        return Ok(default);
    };
    match limit.try_into() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(crate::AppError::BadRequest(
            palisade_i18n::Refusal::new("refusal-limit").with("max", max.to_string()),
        )),
    }
}

/// Text the server accepts after trimming: at least one visible character, no control
/// characters but tab and line breaks.
const TEXT: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";
/// One line of text: as [`TEXT`], without any control character.
/// A macro's text: braces only around the placeholders it may use.
const MACRO_BRACES: &str = r"^([^{}]|\{(requester_name|requester_first_name|ticket_number|agent_name)\})*$";
/// An acknowledgement's text: braces only around the placeholders it may use.
const ACK_BRACES: &str = r"^([^{}]|\{(requester_name|requester_first_name|ticket_number|ticket_subject)\})*$";
/// A survey's text: braces only around the placeholders it may use.
const SURVEY_BRACES: &str = r"^([^{}]|\{(requester_name|requester_first_name|ticket_number|link)\})*$";
const LINE: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
/// An address `EmailAddress::parse` accepts (local part at most 64 characters, dotted
/// labels, at most 254 in all).
const EMAIL: &str = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,30}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16}){0,2}@[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?){1,3}$";

/// One line without surrounding white space (what trimming leaves unchanged), so two
/// values the schema calls different stay different once stored.
const TRIMMED_LINE: &str = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$";

/// A privacy notice's address as the settings take it: a path on this site (not `//`,
/// no backslash) or an https address whose host names no user; printable ASCII only.
const NOTICE_URL: &str = r"^(/([!-.0-\[\]-~][!-\[\]-~]*)?|https://[!-.0-?A-~]+(/[!-~]*)?)$";

/// A webhook's address as the document promises it is taken: https to a DNS name
/// (internal addresses and plain http, which only an operator's allow-list admits, are
/// left out), a port below 60000, a path of URL characters.
const WEBHOOK_URL: &str = r"^https://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:([1-9][0-9]{0,3}|[1-5][0-9]{4}))?(/[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?$";

/// A native application's redirect URI: plain http to a loopback address (RFC 8252).
const LOOPBACK_REDIRECT: &str =
    r"^http://(127\.0\.0\.1|\[::1\])(:([1-9][0-9]{0,3}|[1-5][0-9]{4}))?(/[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?$";

fn id_of(prefix: &str) -> Value {
    json!({ "type": "string", "pattern": format!("^{prefix}[A-Za-z0-9_-]{{22}}$") })
}

fn text(max: usize) -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": TEXT })
}

fn line(max: usize) -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": LINE })
}

fn one_of(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}

/// What the server checks of each request body field, as schema: the document is as
/// strict as the validation, so a request the document allows is one the server takes
/// (or refuses for a reason the document cannot know: 404, 409).
fn request_field(schema: &str, field: &str) -> Option<Value> {
    Some(match (schema, field) {
        (_, "user_id" | "assignee_id" | "requester_id") => id_of("usr_"),
        (_, "team_id") => id_of("team_"),
        (_, "company_id") => id_of("org_"),
        (_, "ticket_id") => id_of("tkt_"),
        (_, "ceremony") => id_of("wac_"),
        ("TicketConfirmation", "token") => json!({ "type": "string", "pattern": "^[A-Za-z0-9_-]{43}$" }),
        (_, "team_ids") => json!({ "type": "array", "items": id_of("team_") }),
        ("CreateMessageRequest", "attachment_ids") => {
            json!({ "type": "array", "maxItems": 20, "uniqueItems": true, "items": id_of("att_") })
        }
        (_, "company_ids") => json!({ "type": "array", "items": id_of("org_") }),
        ("CreateCustomerRequest" | "CreateStaffRequest", "email") => {
            json!({ "type": "string", "maxLength": 254, "pattern": EMAIL })
        }
        ("RenamePasskeyRequest" | "PasskeyRegistrationRequest", "name") => text(60),
        ("UpdateTeamRequest", "survey_texts") => {
            let tags: Vec<&str> = palisade_i18n::Locale::ALL.iter().map(|l| l.tag()).collect();
            json!({
                "type": "object",
                "propertyNames": one_of(&tags),
                "additionalProperties": { "anyOf": [
                    { "type": "string", "pattern": "^[ \\t\\r\\n]*$" },
                    { "allOf": [
                        text(palisade_service::automation::MAX_ACK_CHARS),
                        { "pattern": SURVEY_BRACES },
                        { "pattern": "\\{link\\}" },
                    ] },
                ] },
            })
        }
        ("ErasureBody" | "AccessBody", "person") => id_of("usr_"),
        ("AccessBody", "reason" | "withhold_internal_notes") => {
            line(palisade_service::MAX_PRIVACY_REASON_CHARS)
        }
        ("ErasureBody" | "LegalHoldBody", "reason") => line(palisade_service::MAX_PRIVACY_REASON_CHARS),
        ("LegalHoldBody", "target") => json!({ "anyOf": [id_of("usr_"), id_of("org_"), id_of("tkt_")] }),
        (
            "RetentionScheduleBody",
            "tickets_days" | "transcripts_days" | "quarantine_days" | "addresses_days",
        ) => {
            json!({ "type": "integer", "minimum": 1, "maximum": palisade_store::MAX_RETENTION_DAYS })
        }
        ("RetentionScheduleBody", "tickets_action") => one_of(&["anonymise", "erase"]),
        ("WebhookBody", "name") => line(palisade_service::MAX_WEBHOOK_NAME_CHARS),
        ("WebhookBody", "url") => json!({
            "type": "string",
            "maxLength": palisade_service::MAX_WEBHOOK_URL_CHARS,
            "pattern": WEBHOOK_URL,
        }),
        ("WebhookBody", "event_types") => json!({
            "type": "array",
            "minItems": 1,
            "items": one_of(&palisade_service::WEBHOOK_EVENT_TYPES),
        }),
        ("WebhookBody", "run_as_id") => id_of("usr_"),
        ("OAuthClientBody", "name") => line(palisade_service::MAX_APP_NAME_CHARS),
        ("OAuthClientBody", "redirect_uris") => json!({
            "type": "array",
            "maxItems": palisade_service::MAX_REDIRECT_URIS,
            "items": { "type": "string", "maxLength": 2000, "anyOf": [
                { "pattern": WEBHOOK_URL },
                { "pattern": LOOPBACK_REDIRECT },
            ] },
        }),
        ("OAuthClientBody", "scopes") => {
            let scopes: Vec<&str> = palisade_core::Scope::ALL.iter().map(|s| s.as_str()).collect();
            json!({ "type": "array", "minItems": 1, "items": one_of(&scopes) })
        }
        ("OAuthClientBody", "act_as_id") => id_of("usr_"),
        ("RateRequest", "rating") => one_of(&["good", "bad"]),
        ("RateRequest", "comment") => json!({ "anyOf": [
            { "type": "string", "pattern": "^[ \t\r\n]*$" },
            text(palisade_service::MAX_RATING_COMMENT_CHARS),
        ] }),
        ("UpdateTeamRequest", "auto_assign") => one_of(&palisade_service::automation::ASSIGNMENT_MODES),
        ("UpdateTeamRequest", "assign_cap") => {
            json!({ "type": "integer", "minimum": 0, "maximum": palisade_service::automation::MAX_ASSIGN_CAP })
        }
        ("UpdateTeamRequest", "ack_texts") => {
            let tags: Vec<&str> = palisade_i18n::Locale::ALL.iter().map(|l| l.tag()).collect();
            json!({
                "type": "object",
                "propertyNames": one_of(&tags),
                "additionalProperties": { "anyOf": [
                    { "type": "string", "pattern": "^[ \\t\\r\\n]*$" },
                    { "allOf": [text(palisade_service::automation::MAX_ACK_CHARS), { "pattern": ACK_BRACES }] },
                ] },
            })
        }
        ("CalendarBody" | "PolicyBody" | "RuleBody", "name") => line(100),
        ("RuleBody", "position") => json!({ "type": "integer", "minimum": 0, "maximum": 10_000 }),
        ("RuleBody", "event") => one_of(&palisade_service::automation::TRIGGER_EVENTS),
        ("RuleBody", "wait_state") => one_of(&palisade_service::automation::WAIT_STATES),
        ("RuleBody", "wait_minutes") => {
            json!({ "type": "integer", "minimum": 1, "maximum": palisade_service::automation::MAX_WAIT_MINUTES })
        }
        ("RuleConditionsBody", "statuses") => {
            json!({ "type": "array", "items": one_of(&["new", "open", "pending", "solved", "closed"]) })
        }
        ("RuleConditionsBody", "priorities") => {
            json!({ "type": "array", "items": one_of(&["low", "normal", "high", "urgent"]) })
        }
        ("RuleConditionsBody", "types") => {
            json!({ "type": "array", "items": one_of(&["question", "incident", "problem", "task"]) })
        }
        ("RuleConditionsBody" | "RuleActionsBody", "tags_all" | "tags_none" | "add_tags" | "remove_tags") => {
            json!({
                "type": "array",
                "maxItems": palisade_service::automation::MAX_RULE_TAGS,
                "items": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" },
            })
        }
        ("RuleConditionsBody" | "RuleActionsBody", "field") => {
            json!({ "type": "string", "pattern": palisade_service::FIELD_KEY_PATTERN })
        }
        ("RuleConditionsBody" | "RuleActionsBody", "field_value") => text(500),
        ("RuleActionsBody", "reply") => json!({ "allOf": [text(20_000), { "pattern": MACRO_BRACES }] }),
        ("RuleActionsBody", "macro_id") => id_of("mac_"),
        ("RuleActionsBody", "set_status") => one_of(&["new", "open", "pending", "solved", "closed"]),
        ("RuleActionsBody", "set_priority") => one_of(&["low", "normal", "high", "urgent"]),
        ("RuleActionsBody", "set_type") => one_of(&["question", "incident", "problem", "task"]),
        ("RuleActionsBody", "assign_to") => json!({ "oneOf": [{ "const": "nobody" }, id_of("usr_")] }),
        // An unknown zone is refused as a conflict (the document does not list the
        // time zone database).
        ("CalendarBody", "time_zone") => json!({ "type": "string", "minLength": 1, "maxLength": 64 }),
        ("CalendarBody", "periods") => {
            json!({ "type": "array", "maxItems": 200, "items": { "$ref": "#/components/schemas/PeriodBody" } })
        }
        ("CalendarBody", "holidays") => {
            json!({ "type": "array", "maxItems": 400, "items": { "$ref": "#/components/schemas/HolidayBody" } })
        }
        ("PeriodBody", "day") => one_of(&["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
        ("PeriodBody", "from" | "to") => {
            json!({ "type": "string", "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$" })
        }
        ("HolidayBody", "date") => day(),
        ("HolidayBody", "every_year") => {
            json!({ "type": "string", "pattern": "^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$" })
        }
        ("PolicyBody", "position") => json!({ "type": "integer", "minimum": 0, "maximum": 10_000 }),
        ("PolicyBody", "first_response_minutes" | "next_response_minutes" | "resolution_minutes") => {
            json!({ "type": "integer", "minimum": 1, "maximum": palisade_service::sla::MAX_TARGET_MINUTES })
        }
        ("PolicyBody", "calendar_id") => id_of("cal_"),
        ("PolicyBody", "escalations") => {
            json!({ "type": "array", "maxItems": 5, "items": { "$ref": "#/components/schemas/EscalationBody" } })
        }
        ("EscalationBody", "minutes_before") => {
            json!({ "type": "integer", "minimum": 0, "maximum": palisade_service::sla::MAX_TARGET_MINUTES })
        }
        ("EscalationBody", "target") => one_of(&["first_response", "next_response", "resolution"]),
        ("EscalationBody", "move_to_team_id") => id_of("team_"),
        ("ConditionsBody", "priorities") => {
            json!({ "type": "array", "items": one_of(&["low", "normal", "high", "urgent"]) })
        }
        ("ConditionsBody", "types") => {
            json!({ "type": "array", "items": one_of(&["question", "incident", "problem", "task"]) })
        }
        ("ConditionsBody", "field") => {
            json!({ "type": "string", "pattern": palisade_service::FIELD_KEY_PATTERN })
        }
        ("ConditionsBody", "field_value") => text(500),
        ("CreateTeamRequest" | "CreateTokenRequest" | "MacroRequest" | "CreateViewRequest", "name") => {
            text(100)
        }
        (_, "name") => text(200),
        ("CreateTicketRequest", "subject") => text(200),
        ("CreateTicketRequest" | "CreateMessageRequest", "body") => text(50_000),
        ("MessageBody", "text") => text(2000),
        ("ArticleBody", "title") => line(200),
        // 65,536 characters are at most the 256 KiB the server takes in UTF-8.
        ("ArticleBody", "body_html") => json!({ "type": "string", "maxLength": 65_536 }),
        ("ArticleBody", "slug") => {
            json!({ "type": "string", "maxLength": 80, "pattern": "^([a-z0-9]+(-[a-z0-9]+)*)?$" })
        }
        ("ArticleBody", "locale") => json!({ "type": "string", "pattern": "^[a-z]{2,3}(-[A-Z]{2})?$" }),
        (_, "audience") => one_of(&["public", "customers", "internal"]),
        (_, "visibility") => one_of(&["public", "internal"]),
        ("BulkUpdateRequest", "ticket_ids") => {
            json!({ "type": "array", "minItems": 1, "maxItems": 100, "uniqueItems": true, "items": id_of("tkt_") })
        }
        ("BulkUpdateRequest", "status") => one_of(&["new", "open", "pending", "solved", "closed"]),
        ("BulkUpdateRequest", "priority") => one_of(&["low", "normal", "high", "urgent"]),
        ("BulkUpdateRequest", "type") => one_of(&["question", "incident", "problem", "task"]),
        ("BulkUpdateRequest", "add_tags") => {
            json!({ "type": "array", "maxItems": 50, "items": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" } })
        }
        ("MacroRequest", "body") => json!({ "allOf": [text(20_000), { "pattern": MACRO_BRACES }] }),
        ("MacroRequest", "share_with") => json!({ "oneOf": [{ "const": "everyone" }, id_of("team_")] }),
        ("MacroRequest", "route_to_team_id") => id_of("team_"),
        ("MacroRequest", "status") => one_of(&["new", "open", "pending", "solved", "closed"]),
        ("MacroRequest", "priority") => one_of(&["low", "normal", "high", "urgent"]),
        ("MacroRequest", "type") => one_of(&["question", "incident", "problem", "task"]),
        ("MacroRequest", "assignee") => one_of(&["me", "nobody"]),
        ("MacroRequest", "add_tags") => {
            json!({ "type": "array", "maxItems": 20, "items": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" } })
        }
        ("CreateViewRequest", "status") => one_of(&["new", "open", "pending", "solved", "closed"]),
        ("CreateViewRequest", "priority") => one_of(&["low", "normal", "high", "urgent"]),
        ("CreateViewRequest", "type") => one_of(&["question", "incident", "problem", "task"]),
        ("CreateViewRequest", "assignee") => one_of(&["me", "nobody"]),
        ("CreateViewRequest", "share_with_team_id") => id_of("team_"),
        ("CreateViewRequest", "created_from" | "created_to" | "updated_from" | "updated_to") => day(),
        ("CreateViewRequest", "field") => {
            json!({ "type": "string", "pattern": palisade_service::FIELD_KEY_PATTERN })
        }
        ("CreateViewRequest", "value") => text(500),
        ("CreateViewRequest", "service_level") => one_of(&["breached", "due_soon"]),
        ("CreateViewRequest", "sort") => one_of(&["newest", "oldest", "updated", "stale", "priority", "due"]),
        ("CreateViewRequest", "tag") => json!({ "type": "string", "pattern": "^[a-z0-9_-]{1,64}$" }),
        ("UpdateTicketRequest", "status") => one_of(&["new", "open", "pending", "solved", "closed"]),
        ("UpdateTicketRequest", "priority") => one_of(&["low", "normal", "high", "urgent"]),
        ("UpdateTicketRequest", "type") => one_of(&["question", "incident", "problem", "task"]),
        ("UpdateTicketRequest", "version") => version_number(),
        ("CreateStaffRequest" | "ChangeRoleRequest", "role") => {
            one_of(&["admin", "supervisor", "agent", "light_agent", "auditor"])
        }
        ("SetTagsRequest", "tags") => {
            json!({ "type": "array", "items": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" } })
        }
        ("HandoverBody", "confirm") => json!({ "type": "boolean", "enum": [true] }),
        ("CreateTokenRequest", "expires_in_days") => {
            json!({ "type": "integer", "minimum": 1, "maximum": 365 })
        }
        ("CreateTokenRequest", "scopes") => json!({
            "type": "array",
            "minItems": 1,
            "items": one_of(&[
                "tickets:read", "tickets:write", "people:read", "people:write", "audit:read", "articles:read",
                "articles:write",
            ]),
        }),
        ("PublishBody", "version") => version_number(),
        ("MergeRequest", "into") => id_of("tkt_"),
        ("MergeCustomersRequest", "into") => id_of("usr_"),
        ("LanguageRequest", "language") => {
            let tags: Vec<&str> = palisade_i18n::Locale::ALL.iter().map(|l| l.tag()).collect();
            one_of(&tags)
        }
        ("BulkUpdateRequest", "macro_id") => id_of("mac_"),
        ("CreateFieldRequest", "key") => {
            json!({ "type": "string", "pattern": palisade_service::FIELD_KEY_PATTERN })
        }
        ("CreateFieldRequest" | "UpdateFieldRequest", "label") => {
            line(palisade_service::MAX_FIELD_LABEL_CHARS)
        }
        ("CreateFieldRequest", "kind") => one_of(&["text", "number", "date", "dropdown", "checkbox"]),
        ("CreateFieldRequest" | "UpdateFieldRequest", "options") => json!({
            "type": "array",
            "maxItems": palisade_service::MAX_FIELD_OPTIONS,
            "uniqueItems": true,
            "items": { "type": "string", "maxLength": palisade_service::MAX_FIELD_LABEL_CHARS, "pattern": TRIMMED_LINE },
        }),
        ("SetFieldsRequest", "values") => json!({
            "type": "object",
            "maxProperties": 50,
            "propertyNames": { "pattern": palisade_service::FIELD_KEY_PATTERN },
            "additionalProperties": {
                "oneOf": [
                    { "type": "string", "maxLength": palisade_service::MAX_FIELD_TEXT_CHARS },
                    { "type": "null" },
                ],
            },
        }),
        ("SetFieldsRequest", "version") => version_number(),
        ("SettingsRequest", "values") => {
            let nullable = |schema: Value| json!({ "oneOf": [schema, { "type": "null" }] });
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "organisation_name": nullable(line(100)),
                    "default_locale": nullable(json!({ "type": "string", "pattern": "^[a-z]{2,3}(-[A-Z]{2})?$" })),
                    "privacy_notice_url": nullable(json!({
                        "type": "string",
                        "maxLength": 500,
                        "pattern": NOTICE_URL,
                    })),
                    "assistant_min_score": nullable(json!({ "type": "number", "minimum": 0, "maximum": 100 })),
                    "assistant_min_coverage": nullable(json!({ "type": "number", "minimum": 0, "maximum": 1 })),
                    "assistant_max_passages": nullable(json!({ "type": "integer", "minimum": 1, "maximum": 10 })),
                    "assistant_misses_before_handover": nullable(json!({ "type": "integer", "minimum": 1, "maximum": 10 })),
                },
            })
        }
        ("CreateCustomerRequest" | "UpdateCustomerRequest", "phone") => json!({
            "type": "string",
            "maxLength": 32,
            "pattern": "^[0-9 +().-]*[0-9+().-][0-9 +().-]*$",
        }),
        ("PasskeyRegistrationRequest", "credential") => credential(&["attestationObject", "clientDataJSON"]),
        ("PasskeyAnswer" | "PasskeyStepUpRequest", "credential") => {
            credential(&["authenticatorData", "clientDataJSON", "signature"])
        }
        _ => return None,
    })
}

/// A calendar day as `YYYY-MM-DD`; the format refuses the days a month lacks.
fn day() -> Value {
    json!({
        "type": "string",
        "format": "date",
        "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    })
}

/// A version counter as the server parses it: the bound is `i64::MAX` because a
/// larger number is refused as unparseable, so the schema must refuse it too.
fn version_number() -> Value {
    json!({ "type": "integer", "minimum": 1, "maximum": i64::MAX })
}

/// A WebAuthn `PublicKeyCredential` as browsers serialise it (binary fields
/// base64url), with the fields of its `response` that the ceremony needs.
fn credential(response_fields: &[&str]) -> Value {
    // Unpadded base64url with canonical final characters (what a strict decoder takes).
    let b64 = json!({
        "type": "string",
        "minLength": 2,
        "pattern": "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$"
    });
    let mut response = Map::new();
    for field in response_fields {
        response.insert((*field).to_owned(), b64.clone());
    }
    json!({
        "type": "object",
        "required": ["id", "rawId", "type", "response"],
        "properties": {
            "id": b64,
            "rawId": b64,
            "type": { "type": "string", "enum": ["public-key"] },
            "response": { "type": "object", "required": response_fields, "properties": response },
        },
    })
}

/// Keeps a nullable field nullable when its schema is replaced.
fn keep_null(old: &Value, new: Value) -> Value {
    let nullable = old
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|v| v == "null"));
    if !nullable {
        return new;
    }
    json!({ "oneOf": [new, { "type": "null" }] })
}

/// The component schemas `schema` refers to, by name.
fn refs_in(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.push(name.to_owned());
            }
            for value in map.values() {
                refs_in(value, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}

/// Tightens the schemas of request bodies (never responses: those carry masked values).
fn tighten_request_schemas(doc: &mut Value) {
    let mut names = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for item in paths.values() {
            for method in METHODS {
                let refs = item
                    .get(method)
                    .and_then(|o| o.pointer("/requestBody/content/application~1json/schema/$ref"))
                    .and_then(Value::as_str);
                if let Some(name) = refs.and_then(|r| r.rsplit('/').next()) {
                    names.push(name.to_owned());
                }
            }
        }
    }
    // The objects a body holds (a calendar's periods, a policy's conditions) are
    // request schemas too.
    let mut i = 0;
    while i < names.len() {
        let mut nested = Vec::new();
        if let Some(schema) = doc.pointer(&format!("/components/schemas/{}", names[i])) {
            refs_in(schema, &mut nested);
        }
        for name in nested {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        i += 1;
    }
    // A body shared by several operations is tightened once: a second pass would
    // see the first's `oneOf` and drop the `null` an optional field allows.
    names.sort();
    names.dedup();
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for name in names {
        let Some(properties) = schemas
            .get_mut(&name)
            .and_then(|s| s.get_mut("properties"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (field, schema) in properties.iter_mut() {
            if let Some(strict) = request_field(&name, field) {
                *schema = keep_null(schema, strict);
            }
        }
        let rules = request_rules(&name);
        if let (false, Some(schema)) = (
            rules.is_empty(),
            schemas.get_mut(&name).and_then(Value::as_object_mut),
        ) {
            let excluded: Vec<Value> = rules.into_iter().map(|rule| json!({ "not": rule })).collect();
            schema.insert("allOf".into(), Value::Array(excluded));
        }
    }
}

/// What the server refuses of a body's fields together, as the combinations the
/// schema must exclude (each a `not`): an internal note cannot ask for secure
/// delivery; only a drop-down has options, and it has at least one; a drop-down or
/// check box holds no personal data.
fn request_rules(schema: &str) -> Vec<Value> {
    match schema {
        // Only a confidential application acts as an account; one with no redirect URI
        // must (or nothing could ever use it).
        "OAuthClientBody" => vec![
            json!({
                "required": ["act_as_id"],
                "properties": { "act_as_id": { "type": "string" } },
                "not": { "required": ["confidential"], "properties": { "confidential": { "const": true } } },
            }),
            json!({
                "properties": { "redirect_uris": { "maxItems": 0 }, "act_as_id": { "type": "null" } },
            }),
        ],
        "CreateMessageRequest" => vec![json!({
            "required": ["visibility", "secure_delivery"],
            "properties": { "visibility": { "const": "internal" }, "secure_delivery": { "const": true } },
        })],
        "CreateFieldRequest" => vec![
            json!({
                "required": ["kind", "options"],
                "properties": { "kind": { "not": { "const": "dropdown" } }, "options": { "minItems": 1 } },
            }),
            json!({
                "required": ["kind"],
                "properties": { "kind": { "const": "dropdown" } },
                "not": { "required": ["options"] },
            }),
            json!({
                "required": ["kind", "options"],
                "properties": { "kind": { "const": "dropdown" }, "options": { "maxItems": 0 } },
            }),
            json!({
                "required": ["kind", "personal"],
                "properties": { "kind": { "enum": ["dropdown", "checkbox"] }, "personal": { "const": true } },
            }),
        ],
        // A field filter names both the field and the value.
        "CreateViewRequest" => vec![
            json!({
                "required": ["field"],
                "properties": { "field": { "type": "string" } },
                "not": { "required": ["value"], "properties": { "value": { "type": "string" } } },
            }),
            json!({
                "required": ["value"],
                "properties": { "value": { "type": "string" } },
                "not": { "required": ["field"], "properties": { "field": { "type": "string" } } },
            }),
        ],
        // A closed day is a date or a yearly day, never both or neither.
        "HolidayBody" => vec![
            json!({
                "required": ["date", "every_year"],
                "properties": { "date": { "type": "string" }, "every_year": { "type": "string" } },
            }),
            json!({
                "not": { "anyOf": [
                    { "required": ["date"], "properties": { "date": { "type": "string" } } },
                    { "required": ["every_year"], "properties": { "every_year": { "type": "string" } } },
                ] },
            }),
        ],
        // A field condition (or a rule's field change) names both the field and its value.
        "ConditionsBody" | "RuleConditionsBody" | "RuleActionsBody" => vec![
            json!({
                "required": ["field"],
                "properties": { "field": { "type": "string" } },
                "not": { "required": ["field_value"], "properties": { "field_value": { "type": "string" } } },
            }),
            json!({
                "required": ["field_value"],
                "properties": { "field_value": { "type": "string" } },
                "not": { "required": ["field"], "properties": { "field": { "type": "string" } } },
            }),
        ],
        _ => Vec::new(),
    }
}

/// Adds the shared answers to every operation of `doc` (a serialised OpenAPI 3.1
/// document) and declares every error as problem+json.
pub fn complete(mut doc: Value) -> Value {
    tighten_request_schemas(&mut doc);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(operation) = item.get_mut(method) else {
                continue;
            };
            bound_parameters(path, operation);
            // Publishing without a body publishes the latest version.
            if path == "/api/v1/articles/{id}/publish"
                && let Some(body) = operation.get_mut("requestBody")
            {
                body["required"] = json!(false);
            }
            if let Some(binary) = operation.pointer_mut("/requestBody/content/application~1octet-stream") {
                binary["schema"] = json!({ "type": "string", "format": "binary", "minLength": 1 });
            }
            let takes_input = operation
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty());
            let has_body = operation.get("requestBody").is_some();
            let responses = operation
                .as_object_mut()
                .map(|o| o.entry("responses").or_insert_with(|| json!({})));
            let Some(responses) = responses.and_then(Value::as_object_mut) else {
                continue;
            };
            for (status, description) in EVERYWHERE {
                ensure(responses, status, description);
            }
            if takes_input || has_body {
                ensure(
                    responses,
                    "400",
                    "the input is not valid; `detail` says what to fix",
                );
            }
            if method != "get" {
                ensure(
                    responses,
                    "409",
                    "the request conflicts with the current state (already decided, a reference to nothing, …)",
                );
            }
            if has_body {
                ensure(responses, "413", "the body is larger than allowed");
                ensure(responses, "415", "the body is not of the declared content type");
            }
            for (status, response) in responses.iter_mut() {
                if status.starts_with('4') || status.starts_with('5') {
                    response["content"] = problem();
                }
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_declares_the_shared_answers_as_problem_json() {
        let doc = complete(json!({
            "paths": {
                "/x/{id}": {
                    "get": {
                        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                        "responses": {"200": {"description": "ok"}, "404": {"description": "gone", "content": {"application/json": {}}}}
                    },
                    "post": {"requestBody": {}, "responses": {"201": {"description": "made"}}}
                }
            }
        }));
        let get = &doc["paths"]["/x/{id}"]["get"];
        for status in ["400", "401", "403", "404", "429"] {
            assert!(
                get["responses"][status]["content"]["application/problem+json"].is_object(),
                "{status}"
            );
        }
        assert_eq!(
            get["responses"]["404"]["description"], "gone",
            "what a handler said is kept"
        );
        assert!(get["responses"]["200"].get("content").is_none());
        assert_eq!(get["parameters"][0]["schema"]["minimum"], 1);
        let post = &doc["paths"]["/x/{id}"]["post"];
        for status in ["400", "413", "415"] {
            assert!(post["responses"][status].is_object(), "{status}");
        }
    }

    /// Collects the place of every integer schema without an upper bound,
    /// following references into the document's components.
    fn unbounded_integers(doc: &Value, at: &str, schema: &Value, found: &mut Vec<String>) {
        match schema {
            Value::Object(fields) => {
                if fields.get("type") == Some(&json!("integer")) && !fields.contains_key("maximum") {
                    found.push(at.to_owned());
                }
                if let Some(target) = fields.get("$ref").and_then(Value::as_str) {
                    let pointer = target.trim_start_matches('#');
                    unbounded_integers(
                        doc,
                        target,
                        &doc.pointer(pointer).cloned().unwrap_or_default(),
                        found,
                    );
                }
                for (key, inner) in fields {
                    unbounded_integers(doc, &format!("{at}/{key}"), inner, found);
                }
            }
            Value::Array(items) => {
                for (index, inner) in items.iter().enumerate() {
                    unbounded_integers(doc, &format!("{at}/{index}"), inner, found);
                }
            }
            _ => {}
        }
    }

    /// The macro body is sent by two operations (create and change); its optional
    /// fields still allow `null`, which the server reads as "left out".
    #[test]
    fn a_body_shared_by_two_operations_keeps_its_nulls() {
        let doc =
            complete(serde_json::to_value(<super::super::ApiDoc as utoipa::OpenApi>::openapi()).unwrap());
        let field = &doc["components"]["schemas"]["MacroRequest"]["properties"]["route_to_team_id"];
        assert_eq!(field["oneOf"][1], json!({ "type": "null" }), "{field}");
        assert_eq!(field["oneOf"][0]["pattern"], "^team_[A-Za-z0-9_-]{22}$");
    }

    /// The server parses numbers into fixed-width integers, so a number the
    /// schema allows must fit: an unbounded integer lets a fuzzer send a valid
    /// number the server cannot read (as schemathesis once did with a version).
    #[test]
    fn every_integer_a_caller_sends_has_an_upper_bound() {
        let doc =
            complete(serde_json::to_value(<super::super::ApiDoc as utoipa::OpenApi>::openapi()).unwrap());
        let mut found = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for part in ["parameters", "requestBody"] {
                    unbounded_integers(
                        &doc,
                        &format!("{path} {method} {part}"),
                        &operation[part],
                        &mut found,
                    );
                }
            }
        }
        assert!(found.is_empty(), "integers without a maximum: {found:#?}");
    }
}
