//! `zitadel.user.v2.UserService` AddPersonalAccessToken, RemovePersonalAccessToken and
//! ListPersonalAccessTokens.

use rekey_application::Ports;
use rekey_application::ports::TokenInfo;
use rekey_application::usecase::create_token::{
    self, Compare, Error, Filter, NEVER_EXPIRES, Query, RevokeError, SortBy,
};
use rekey_domain::Principal;
use rekey_proto::zitadel::filter::v2 as filter;
use rekey_proto::zitadel::user::v2 as proto;
use rekey_proto::zitadel::user::v2::personal_access_tokens_search_filter::Filter as ProtoFilter;

use super::fields::{self, permission_denied};
use crate::status::{Code, Status};

/// ZITADEL's code, id and text for each refusal of AddPersonalAccessToken and
/// ListPersonalAccessTokens.
#[must_use]
pub fn error(error: Error) -> Status {
    let text = error.to_string();
    match error {
        Error::PermissionDenied => permission_denied(),
        Error::UserNotFound => Status::with_id(Code::FailedPrecondition, "COMMAND-Dggw2", text),
        Error::WrongType => Status::with_id(Code::FailedPrecondition, "COMMAND-Df2f1", text),
        Error::ExpiresBeforeNow => Status::with_id(Code::InvalidArgument, "DOMAIN-dv3t5", text),
        Error::LimitExceeded(_) => Status::with_id(Code::InvalidArgument, "QUERY-4M0fs", text),
        Error::Failure(failure) => Status::failure(failure),
    }
}

/// AddPersonalAccessToken: a token for a machine user, shown once.
///
/// # Errors
/// Code 3 for a user id against its rule or a past expiration date; the refusal, as [`error`]
/// maps it.
pub async fn add<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: proto::AddPersonalAccessTokenRequest,
) -> Result<proto::AddPersonalAccessTokenResponse, Status> {
    let user_id = fields::user_id("AddPersonalAccessTokenRequest.UserId", request.user_id)?;
    let expires_at = request
        .expiration_date
        .map(|at| fields::time("AddPersonalAccessTokenRequest.ExpirationDate", at))
        .transpose()?;
    let output = create_token::add(ports, caller, &user_id, expires_at)
        .await
        .map_err(error)?;
    Ok(proto::AddPersonalAccessTokenResponse {
        creation_date: Some(fields::timestamp(output.created_at)),
        token_id: output.token_id,
        token: output.token.expose().to_owned(),
    })
}

/// RemovePersonalAccessToken: the token stops authenticating at once.
///
/// # Errors
/// Code 3 for an id against its rule; NotFound `COMMAND-4m77G` for a token the user does not
/// have (or no such user); PermissionDenied.
pub async fn remove<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: proto::RemovePersonalAccessTokenRequest,
) -> Result<proto::RemovePersonalAccessTokenResponse, Status> {
    let user_id = fields::user_id("RemovePersonalAccessTokenRequest.UserId", request.user_id)?;
    let token_id = fields::plain_text(
        "RemovePersonalAccessTokenRequest.TokenId",
        request.token_id,
        1,
        200,
    )?;
    let details = create_token::remove(ports, caller, &user_id, &token_id)
        .await
        .map_err(|e| match e {
            RevokeError::PermissionDenied => permission_denied(),
            RevokeError::NotFound => {
                Status::with_id(Code::NotFound, "COMMAND-4m77G", e.to_string())
            }
            RevokeError::Failure(failure) => Status::failure(failure),
        })?;
    Ok(proto::RemovePersonalAccessTokenResponse {
        deletion_date: Some(fields::timestamp(details.change_date)),
    })
}

fn compare(method: i32) -> Result<Compare, Status> {
    Ok(match filter::TimestampFilterMethod::try_from(method) {
        Ok(filter::TimestampFilterMethod::Equals) => Compare::Equals,
        Ok(filter::TimestampFilterMethod::After) => Compare::After,
        Ok(filter::TimestampFilterMethod::AfterOrEquals) => Compare::AfterOrEquals,
        Ok(filter::TimestampFilterMethod::Before) => Compare::Before,
        Ok(filter::TimestampFilterMethod::BeforeOrEquals) => Compare::BeforeOrEquals,
        Err(_) => {
            return Err(Status::invalid(
                "invalid TimestampFilter.Method: value must be one of the defined enum values",
            ));
        }
    })
}

fn time_filter(
    given: filter::TimestampFilter,
    make: fn(Compare, chrono::DateTime<chrono::Utc>) -> Filter,
) -> Result<Filter, Status> {
    let at = given
        .timestamp
        .ok_or_else(|| fields::required("TimestampFilter.Timestamp"))?;
    Ok(make(
        compare(given.method)?,
        fields::time("TimestampFilter.Timestamp", at)?,
    ))
}

fn id_filter(given: &filter::IdFilter, make: fn(String) -> Filter) -> Result<Filter, Status> {
    if given.id.chars().count() > 200 {
        return Err(fields::length_error("IDFilter.Id", 0, 200));
    }
    Ok(make(given.id.clone()))
}

/// Checks a ListPersonalAccessTokens request: pagination, sorting column and filters.
///
/// # Errors
/// Code 3 for a filter against its rule or an unknown sorting column.
pub fn list_query(request: proto::ListPersonalAccessTokensRequest) -> Result<Query, Status> {
    let mut query = Query::default();
    if let Some(page) = request.pagination {
        query.offset = page.offset;
        query.limit = page.limit;
        query.ascending = page.asc;
    }
    query.sort_by = match proto::PersonalAccessTokenFieldName::try_from(request.sorting_column) {
        Ok(
            proto::PersonalAccessTokenFieldName::Unspecified
            | proto::PersonalAccessTokenFieldName::CreatedDate,
        ) => SortBy::CreatedAt,
        Ok(proto::PersonalAccessTokenFieldName::Id) => SortBy::Id,
        Ok(proto::PersonalAccessTokenFieldName::UserId) => SortBy::UserId,
        Ok(proto::PersonalAccessTokenFieldName::OrganizationId) => SortBy::OrgId,
        Ok(proto::PersonalAccessTokenFieldName::ExpirationDate) => SortBy::ExpiresAt,
        Err(_) => {
            return Err(Status::invalid(
                "invalid ListPersonalAccessTokensRequest.SortingColumn: value must be one of the defined enum values",
            ));
        }
    };
    for given in request.filters {
        query.filters.push(match given.filter {
            Some(ProtoFilter::TokenIdFilter(id)) => id_filter(&id, Filter::TokenId)?,
            Some(ProtoFilter::UserIdFilter(id)) => id_filter(&id, Filter::UserId)?,
            Some(ProtoFilter::OrganizationIdFilter(id)) => id_filter(&id, Filter::OrgId)?,
            Some(ProtoFilter::CreatedDateFilter(at)) => time_filter(at, Filter::CreatedAt)?,
            Some(ProtoFilter::ExpirationDateFilter(at)) => time_filter(at, Filter::ExpiresAt)?,
            None => {
                return Err(Status::invalid(
                    "invalid PersonalAccessTokensSearchFilter.Filter: value is required",
                ));
            }
        });
    }
    Ok(query)
}

fn token_message(token: &TokenInfo) -> proto::PersonalAccessToken {
    proto::PersonalAccessToken {
        creation_date: Some(fields::timestamp(token.created_at)),
        change_date: Some(fields::timestamp(token.created_at)),
        id: token.id.clone(),
        user_id: token.user_id.as_str().to_owned(),
        organization_id: token.org_id.as_str().to_owned(),
        expiration_date: Some(fields::timestamp(token.expires_at.unwrap_or(NEVER_EXPIRES))),
    }
}

/// ListPersonalAccessTokens: the tokens the caller may see; never a token itself.
///
/// # Errors
/// As [`list_query`]; the refusal, as [`error`] maps it.
pub async fn list<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: proto::ListPersonalAccessTokensRequest,
) -> Result<proto::ListPersonalAccessTokensResponse, Status> {
    let query = list_query(request)?;
    let page = create_token::search(ports, caller, query)
        .await
        .map_err(error)?;
    Ok(proto::ListPersonalAccessTokensResponse {
        pagination: Some(filter::PaginationResponse {
            total_result: page.total,
            applied_limit: u64::from(page.limit),
        }),
        result: page.tokens.iter().map(token_message).collect(),
    })
}
