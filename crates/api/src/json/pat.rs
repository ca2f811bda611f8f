//! The proto3 JSON mapping of the User Service v2's AddPersonalAccessToken,
//! RemovePersonalAccessToken and ListPersonalAccessTokens, as [`crate::json::session`] maps
//! the Session Service's messages.

use rekey_proto::zitadel::filter::v2 as filter;
use rekey_proto::zitadel::user::v2 as user;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::session::{EnumJson, TimestampJson, U32Json, U64Json, at_most_one};
use crate::json::{JsonRequest, JsonResponse, set_if, timestamp};
use crate::status::Status;

/// `AddPersonalAccessTokenRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddPersonalAccessTokenJson {
    #[serde(alias = "user_id")]
    user_id: Option<String>,
    #[serde(alias = "expiration_date")]
    expiration_date: Option<TimestampJson>,
}

impl JsonRequest for user::AddPersonalAccessTokenRequest {
    type Json = AddPersonalAccessTokenJson;

    fn from_json(json: AddPersonalAccessTokenJson) -> Result<Self, Status> {
        Ok(Self {
            user_id: json.user_id.unwrap_or_default(),
            expiration_date: json.expiration_date.map(|t| t.0),
        })
    }
}

/// `RemovePersonalAccessTokenRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovePersonalAccessTokenJson {
    #[serde(alias = "user_id")]
    user_id: Option<String>,
    #[serde(alias = "token_id")]
    token_id: Option<String>,
}

impl JsonRequest for user::RemovePersonalAccessTokenRequest {
    type Json = RemovePersonalAccessTokenJson;

    fn from_json(json: RemovePersonalAccessTokenJson) -> Result<Self, Status> {
        Ok(Self {
            user_id: json.user_id.unwrap_or_default(),
            token_id: json.token_id.unwrap_or_default(),
        })
    }
}

/// `ListPersonalAccessTokensRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPersonalAccessTokensJson {
    pagination: Option<PaginationJson>,
    #[serde(alias = "sorting_column")]
    sorting_column: Option<EnumJson>,
    filters: Option<Vec<SearchFilterJson>>,
}

impl JsonRequest for user::ListPersonalAccessTokensRequest {
    type Json = ListPersonalAccessTokensJson;

    fn from_json(json: ListPersonalAccessTokensJson) -> Result<Self, Status> {
        Ok(Self {
            pagination: json.pagination.map(|p| filter::PaginationRequest {
                offset: p.offset.map_or(0, |o| o.0),
                limit: p.limit.map_or(0, |l| l.0),
                asc: p.asc.unwrap_or(false),
            }),
            sorting_column: EnumJson::number(
                json.sorting_column,
                user::PersonalAccessTokenFieldName::from_str_name,
            ),
            filters: json
                .filters
                .unwrap_or_default()
                .into_iter()
                .map(SearchFilterJson::into_proto)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// `zitadel.filter.v2.PaginationRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaginationJson {
    offset: Option<U64Json>,
    limit: Option<U32Json>,
    asc: Option<bool>,
}

/// `PersonalAccessTokensSearchFilter`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchFilterJson {
    #[serde(alias = "token_id_filter")]
    token_id_filter: Option<IdFilterJson>,
    #[serde(alias = "user_id_filter")]
    user_id_filter: Option<IdFilterJson>,
    #[serde(alias = "organization_id_filter")]
    organization_id_filter: Option<IdFilterJson>,
    #[serde(alias = "created_date_filter")]
    created_date_filter: Option<TimestampFilterJson>,
    #[serde(alias = "expiration_date_filter")]
    expiration_date_filter: Option<TimestampFilterJson>,
}

/// `zitadel.filter.v2.IDFilter`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdFilterJson {
    id: Option<String>,
}

impl IdFilterJson {
    fn into_proto(self) -> filter::IdFilter {
        filter::IdFilter {
            id: self.id.unwrap_or_default(),
        }
    }
}

/// `zitadel.filter.v2.TimestampFilter`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimestampFilterJson {
    timestamp: Option<TimestampJson>,
    method: Option<EnumJson>,
}

impl TimestampFilterJson {
    fn into_proto(self) -> filter::TimestampFilter {
        filter::TimestampFilter {
            timestamp: self.timestamp.map(|t| t.0),
            method: EnumJson::number(self.method, filter::TimestampFilterMethod::from_str_name),
        }
    }
}

impl SearchFilterJson {
    fn into_proto(self) -> Result<user::PersonalAccessTokensSearchFilter, Status> {
        use user::personal_access_tokens_search_filter::Filter;
        let filter = at_most_one(
            "PersonalAccessTokensSearchFilter",
            [
                (
                    "tokenIdFilter",
                    self.token_id_filter
                        .map(|f| Filter::TokenIdFilter(f.into_proto())),
                ),
                (
                    "userIdFilter",
                    self.user_id_filter
                        .map(|f| Filter::UserIdFilter(f.into_proto())),
                ),
                (
                    "organizationIdFilter",
                    self.organization_id_filter
                        .map(|f| Filter::OrganizationIdFilter(f.into_proto())),
                ),
                (
                    "createdDateFilter",
                    self.created_date_filter
                        .map(|f| Filter::CreatedDateFilter(f.into_proto())),
                ),
                (
                    "expirationDateFilter",
                    self.expiration_date_filter
                        .map(|f| Filter::ExpirationDateFilter(f.into_proto())),
                ),
            ],
        )?;
        Ok(user::PersonalAccessTokensSearchFilter { filter })
    }
}

fn time(map: &mut Map<String, Value>, key: &str, at: Option<&prost_types::Timestamp>) {
    if let Some(at) = at {
        map.insert(key.to_owned(), Value::String(timestamp(at)));
    }
}

impl JsonResponse for user::AddPersonalAccessTokenResponse {
    fn to_json(&self) -> Value {
        let mut body = Map::new();
        time(&mut body, "creationDate", self.creation_date.as_ref());
        set_if(&mut body, "tokenId", json!(self.token_id));
        set_if(&mut body, "token", json!(self.token));
        Value::Object(body)
    }
}

impl JsonResponse for user::RemovePersonalAccessTokenResponse {
    fn to_json(&self) -> Value {
        let mut body = Map::new();
        time(&mut body, "deletionDate", self.deletion_date.as_ref());
        Value::Object(body)
    }
}

impl JsonResponse for user::ListPersonalAccessTokensResponse {
    fn to_json(&self) -> Value {
        let pagination = self.pagination.unwrap_or_default();
        let result: Vec<Value> = self
            .result
            .iter()
            .map(|token| {
                let mut item = Map::new();
                time(&mut item, "creationDate", token.creation_date.as_ref());
                time(&mut item, "changeDate", token.change_date.as_ref());
                set_if(&mut item, "id", json!(token.id));
                set_if(&mut item, "userId", json!(token.user_id));
                set_if(&mut item, "organizationId", json!(token.organization_id));
                time(&mut item, "expirationDate", token.expiration_date.as_ref());
                Value::Object(item)
            })
            .collect();
        json!({
            "pagination": {
                "totalResult": pagination.total_result.to_string(),
                "appliedLimit": pagination.applied_limit.to_string(),
            },
            "result": result,
        })
    }
}
