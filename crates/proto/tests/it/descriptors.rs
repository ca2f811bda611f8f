//! ZITADEL's package, service, message and field names and numbers, read back from the
//! descriptor set protox compiled (the same one the generated code came from).

use prost::Message as _;
use rekey_proto::prost;
use rekey_proto::prost_types::field_descriptor_proto::{Label, Type};
use rekey_proto::prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorSet, ServiceDescriptorProto,
};

fn descriptor_set() -> FileDescriptorSet {
    FileDescriptorSet::decode(rekey_proto::FILE_DESCRIPTOR_SET).expect("a valid descriptor set")
}

/// The message of full name `name` (`zitadel.org.v2.AddOrganizationRequest.Admin` for nested).
fn message(set: &FileDescriptorSet, name: &str) -> DescriptorProto {
    for file in &set.file {
        let package = file.package();
        let Some(local) = name
            .strip_prefix(package)
            .and_then(|rest| rest.strip_prefix('.'))
        else {
            continue;
        };
        let mut parts = local.split('.');
        let first = parts.next().unwrap_or_default();
        let Some(mut found) = file.message_type.iter().find(|m| m.name() == first) else {
            continue;
        };
        for part in parts {
            found = found
                .nested_type
                .iter()
                .find(|m| m.name() == part)
                .unwrap_or_else(|| panic!("no nested {part} in {name}"));
        }
        return found.clone();
    }
    panic!("no message {name}");
}

fn field(set: &FileDescriptorSet, message_name: &str, field_name: &str) -> FieldDescriptorProto {
    message(set, message_name)
        .field
        .into_iter()
        .find(|f| f.name() == field_name)
        .unwrap_or_else(|| panic!("no field {message_name}.{field_name}"))
}

fn service(set: &FileDescriptorSet, name: &str) -> ServiceDescriptorProto {
    set.file
        .iter()
        .flat_map(|file| {
            file.service
                .iter()
                .map(move |s| (format!("{}.{}", file.package(), s.name()), s))
        })
        .find(|(full, _)| full == name)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| panic!("no service {name}"))
}

#[test]
fn key_fields_have_zitadels_numbers() {
    let set = descriptor_set();
    let expected = [
        ("zitadel.user.v2.PasswordResetRequest", "user_id", 1),
        ("zitadel.user.v2.PasswordResetRequest", "send_link", 2),
        ("zitadel.user.v2.PasswordResetRequest", "return_code", 3),
        ("zitadel.user.v2.SendPasswordResetLink", "url_template", 2),
        (
            "zitadel.user.v2.PasswordResetResponse",
            "verification_code",
            2,
        ),
        ("zitadel.user.v2.SetPasswordRequest", "new_password", 2),
        ("zitadel.user.v2.SetPasswordRequest", "current_password", 3),
        ("zitadel.user.v2.SetPasswordRequest", "verification_code", 4),
        ("zitadel.user.v2.AddHumanUserRequest", "organization", 11),
        ("zitadel.user.v2.AddHumanUserRequest", "profile", 4),
        ("zitadel.user.v2.AddHumanUserRequest", "email", 5),
        ("zitadel.user.v2.AddHumanUserRequest", "phone", 10),
        ("zitadel.user.v2.AddHumanUserRequest", "password", 7),
        ("zitadel.user.v2.AddHumanUserRequest", "totp_secret", 12),
        ("zitadel.user.v2.SetHumanEmail", "is_verified", 4),
        ("zitadel.user.v2.User", "details", 8),
        ("zitadel.user.v2.User", "human", 6),
        ("zitadel.user.v2.HumanUser", "password_change_required", 9),
        ("zitadel.user.v2.HumanUser", "mfa_init_skipped", 11),
        ("zitadel.user.v2.HumanProfile", "avatar_url", 7),
        ("zitadel.object.v2.Details", "sequence", 1),
        ("zitadel.object.v2.Details", "resource_owner", 3),
        ("zitadel.object.v2.Details", "creation_date", 4),
        ("zitadel.object.v2.Organization", "org_domain", 2),
        ("zitadel.org.v2.AddOrganizationRequest", "org_id", 3),
        (
            "zitadel.org.v2.AddOrganizationRequest",
            "organization_id",
            4,
        ),
        ("zitadel.org.v2.AddOrganizationRequest.Admin", "human", 2),
        ("zitadel.org.v2.AddOrganizationRequest.Admin", "roles", 3),
        (
            "zitadel.org.v2.AddOrganizationResponse",
            "organization_id",
            2,
        ),
        (
            "zitadel.org.v2.AddOrganizationResponse.CreatedAdmin",
            "email_code",
            2,
        ),
        (
            "zitadel.user.v2beta.SetPasswordRequest",
            "verification_code",
            4,
        ),
        ("zitadel.object.v2beta.Details", "resource_owner", 3),
        ("zitadel.v1.ErrorDetail", "id", 1),
        ("zitadel.v1.ErrorDetail", "message", 2),
        ("zitadel.v1.CredentialsCheckError", "failed_attempts", 3),
        ("google.rpc.Status", "details", 3),
        ("zitadel.object.v2.RequestContext", "org_id", 1),
        ("zitadel.object.v2.RequestContext", "instance", 2),
        ("zitadel.object.v2.ListQuery", "offset", 1),
        ("zitadel.object.v2.ListQuery", "limit", 2),
        ("zitadel.object.v2.ListQuery", "asc", 3),
        ("zitadel.object.v2.ListDetails", "total_result", 1),
        ("zitadel.object.v2.ListDetails", "processed_sequence", 2),
        ("zitadel.object.v2.ListDetails", "timestamp", 3),
        ("zitadel.session.v2.CreateSessionRequest", "checks", 1),
        ("zitadel.session.v2.CreateSessionRequest", "metadata", 2),
        ("zitadel.session.v2.CreateSessionRequest", "challenges", 3),
        ("zitadel.session.v2.CreateSessionRequest", "user_agent", 4),
        ("zitadel.session.v2.CreateSessionRequest", "lifetime", 5),
        ("zitadel.session.v2.CreateSessionResponse", "details", 1),
        ("zitadel.session.v2.CreateSessionResponse", "session_id", 2),
        (
            "zitadel.session.v2.CreateSessionResponse",
            "session_token",
            3,
        ),
        ("zitadel.session.v2.CreateSessionResponse", "challenges", 4),
        ("zitadel.session.v2.SetSessionRequest", "session_id", 1),
        ("zitadel.session.v2.SetSessionRequest", "session_token", 2),
        ("zitadel.session.v2.SetSessionRequest", "checks", 3),
        ("zitadel.session.v2.SetSessionRequest", "metadata", 4),
        ("zitadel.session.v2.SetSessionRequest", "challenges", 5),
        ("zitadel.session.v2.SetSessionRequest", "lifetime", 6),
        ("zitadel.session.v2.SetSessionResponse", "session_token", 2),
        ("zitadel.session.v2.SetSessionResponse", "challenges", 3),
        ("zitadel.session.v2.GetSessionRequest", "session_token", 2),
        ("zitadel.session.v2.GetSessionResponse", "session", 1),
        (
            "zitadel.session.v2.DeleteSessionRequest",
            "session_token",
            2,
        ),
        ("zitadel.session.v2.DeleteSessionResponse", "details", 1),
        ("zitadel.session.v2.ListSessionsRequest", "query", 1),
        ("zitadel.session.v2.ListSessionsRequest", "queries", 2),
        (
            "zitadel.session.v2.ListSessionsRequest",
            "sorting_column",
            3,
        ),
        ("zitadel.session.v2.ListSessionsResponse", "details", 1),
        ("zitadel.session.v2.ListSessionsResponse", "sessions", 2),
        ("zitadel.session.v2.Checks", "user", 1),
        ("zitadel.session.v2.Checks", "password", 2),
        ("zitadel.session.v2.Checks", "web_auth_n", 3),
        ("zitadel.session.v2.Checks", "idp_intent", 4),
        ("zitadel.session.v2.Checks", "totp", 5),
        ("zitadel.session.v2.Checks", "otp_sms", 6),
        ("zitadel.session.v2.Checks", "otp_email", 7),
        ("zitadel.session.v2.Checks", "recovery_code", 8),
        ("zitadel.session.v2.CheckUser", "user_id", 1),
        ("zitadel.session.v2.CheckUser", "login_name", 2),
        ("zitadel.session.v2.CheckPassword", "password", 1),
        ("zitadel.session.v2.CheckIDPIntent", "idp_intent_token", 2),
        ("zitadel.session.v2.Session", "id", 1),
        ("zitadel.session.v2.Session", "sequence", 4),
        ("zitadel.session.v2.Session", "factors", 5),
        ("zitadel.session.v2.Session", "metadata", 6),
        ("zitadel.session.v2.Session", "user_agent", 7),
        ("zitadel.session.v2.Session", "expiration_date", 8),
        ("zitadel.session.v2.Factors", "user", 1),
        ("zitadel.session.v2.Factors", "password", 2),
        ("zitadel.session.v2.Factors", "otp_email", 7),
        ("zitadel.session.v2.Factors", "recovery_code", 8),
        ("zitadel.session.v2.UserFactor", "display_name", 4),
        ("zitadel.session.v2.UserFactor", "organization_id", 6),
        ("zitadel.session.v2.PasswordFactor", "verified_at", 1),
        ("zitadel.session.v2.WebAuthNFactor", "user_verified", 2),
        ("zitadel.session.v2.UserAgent", "fingerprint_id", 1),
        ("zitadel.session.v2.UserAgent", "ip", 2),
        ("zitadel.session.v2.UserAgent", "description", 3),
        ("zitadel.session.v2.UserAgent", "header", 4),
        ("zitadel.session.v2.UserAgent.HeaderValues", "values", 1),
        ("zitadel.session.v2.SearchQuery", "ids_query", 1),
        ("zitadel.session.v2.SearchQuery", "user_id_query", 2),
        ("zitadel.session.v2.SearchQuery", "creation_date_query", 3),
        ("zitadel.session.v2.SearchQuery", "creator_query", 4),
        ("zitadel.session.v2.SearchQuery", "user_agent_query", 5),
        ("zitadel.session.v2.SearchQuery", "expiration_date_query", 6),
        ("zitadel.session.v2.IDsQuery", "ids", 1),
        ("zitadel.session.v2.CreationDateQuery", "method", 2),
        ("zitadel.session.v2.UserAgentQuery", "fingerprint_id", 1),
        ("zitadel.session.v2.RequestChallenges", "web_auth_n", 1),
        ("zitadel.session.v2.RequestChallenges", "otp_sms", 2),
        ("zitadel.session.v2.RequestChallenges", "otp_email", 3),
        (
            "zitadel.session.v2.RequestChallenges.WebAuthN",
            "user_verification_requirement",
            2,
        ),
        (
            "zitadel.session.v2.RequestChallenges.OTPEmail",
            "send_code",
            2,
        ),
        (
            "zitadel.session.v2.RequestChallenges.OTPEmail",
            "return_code",
            3,
        ),
        (
            "zitadel.session.v2.RequestChallenges.OTPEmail.SendCode",
            "url_template",
            1,
        ),
        ("zitadel.session.v2.Challenges", "otp_email", 3),
        (
            "zitadel.session.v2.Challenges.WebAuthN",
            "public_key_credential_request_options",
            1,
        ),
        ("zitadel.settings.v2.GetLockoutSettingsRequest", "ctx", 1),
        (
            "zitadel.settings.v2.GetLockoutSettingsResponse",
            "details",
            1,
        ),
        (
            "zitadel.settings.v2.GetLockoutSettingsResponse",
            "settings",
            2,
        ),
        (
            "zitadel.settings.v2.GetPasswordComplexitySettingsRequest",
            "ctx",
            1,
        ),
        (
            "zitadel.settings.v2.GetPasswordComplexitySettingsResponse",
            "settings",
            2,
        ),
        (
            "zitadel.settings.v2.LockoutSettings",
            "max_password_attempts",
            1,
        ),
        (
            "zitadel.settings.v2.LockoutSettings",
            "resource_owner_type",
            2,
        ),
        ("zitadel.settings.v2.LockoutSettings", "max_otp_attempts", 3),
        (
            "zitadel.settings.v2.PasswordComplexitySettings",
            "min_length",
            1,
        ),
        (
            "zitadel.settings.v2.PasswordComplexitySettings",
            "requires_uppercase",
            2,
        ),
        (
            "zitadel.settings.v2.PasswordComplexitySettings",
            "requires_lowercase",
            3,
        ),
        (
            "zitadel.settings.v2.PasswordComplexitySettings",
            "requires_number",
            4,
        ),
        (
            "zitadel.settings.v2.PasswordComplexitySettings",
            "requires_symbol",
            5,
        ),
        (
            "zitadel.settings.v2.PasswordComplexitySettings",
            "resource_owner_type",
            6,
        ),
        (
            "zitadel.user.v2.ListAuthenticationMethodTypesRequest",
            "user_id",
            1,
        ),
        (
            "zitadel.user.v2.ListAuthenticationMethodTypesRequest",
            "domain_query",
            2,
        ),
        ("zitadel.user.v2.DomainQuery", "include_without_domain", 1),
        ("zitadel.user.v2.DomainQuery", "domain", 2),
        (
            "zitadel.user.v2.ListAuthenticationMethodTypesResponse",
            "details",
            1,
        ),
        (
            "zitadel.user.v2.ListAuthenticationMethodTypesResponse",
            "auth_method_types",
            2,
        ),
        (
            "zitadel.user.v2.AddPersonalAccessTokenRequest",
            "user_id",
            1,
        ),
        (
            "zitadel.user.v2.AddPersonalAccessTokenRequest",
            "expiration_date",
            2,
        ),
        (
            "zitadel.user.v2.AddPersonalAccessTokenResponse",
            "creation_date",
            1,
        ),
        (
            "zitadel.user.v2.AddPersonalAccessTokenResponse",
            "token_id",
            2,
        ),
        ("zitadel.user.v2.AddPersonalAccessTokenResponse", "token", 3),
        (
            "zitadel.user.v2.RemovePersonalAccessTokenRequest",
            "user_id",
            1,
        ),
        (
            "zitadel.user.v2.RemovePersonalAccessTokenRequest",
            "token_id",
            2,
        ),
        (
            "zitadel.user.v2.RemovePersonalAccessTokenResponse",
            "deletion_date",
            1,
        ),
        (
            "zitadel.user.v2.ListPersonalAccessTokensRequest",
            "pagination",
            1,
        ),
        (
            "zitadel.user.v2.ListPersonalAccessTokensRequest",
            "sorting_column",
            2,
        ),
        (
            "zitadel.user.v2.ListPersonalAccessTokensRequest",
            "filters",
            3,
        ),
        (
            "zitadel.user.v2.ListPersonalAccessTokensResponse",
            "pagination",
            1,
        ),
        (
            "zitadel.user.v2.ListPersonalAccessTokensResponse",
            "result",
            2,
        ),
        ("zitadel.user.v2.PersonalAccessToken", "creation_date", 1),
        ("zitadel.user.v2.PersonalAccessToken", "change_date", 2),
        ("zitadel.user.v2.PersonalAccessToken", "id", 3),
        ("zitadel.user.v2.PersonalAccessToken", "user_id", 4),
        ("zitadel.user.v2.PersonalAccessToken", "organization_id", 5),
        ("zitadel.user.v2.PersonalAccessToken", "expiration_date", 6),
        (
            "zitadel.user.v2.PersonalAccessTokensSearchFilter",
            "token_id_filter",
            1,
        ),
        (
            "zitadel.user.v2.PersonalAccessTokensSearchFilter",
            "user_id_filter",
            2,
        ),
        (
            "zitadel.user.v2.PersonalAccessTokensSearchFilter",
            "organization_id_filter",
            3,
        ),
        (
            "zitadel.user.v2.PersonalAccessTokensSearchFilter",
            "created_date_filter",
            4,
        ),
        (
            "zitadel.user.v2.PersonalAccessTokensSearchFilter",
            "expiration_date_filter",
            5,
        ),
        ("zitadel.filter.v2.PaginationRequest", "offset", 1),
        ("zitadel.filter.v2.PaginationRequest", "limit", 2),
        ("zitadel.filter.v2.PaginationRequest", "asc", 3),
        ("zitadel.filter.v2.PaginationResponse", "total_result", 1),
        ("zitadel.filter.v2.PaginationResponse", "applied_limit", 2),
        ("zitadel.filter.v2.TimestampFilter", "timestamp", 1),
        ("zitadel.filter.v2.TimestampFilter", "method", 2),
    ];
    let wrong: Vec<String> = expected
        .iter()
        .filter_map(|(message, name, number)| {
            let actual = field(&set, message, name).number();
            (actual != *number).then(|| format!("{message}.{name} is {actual}, not {number}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn add_human_user_request_skips_3_as_zitadel_does() {
    let numbers: Vec<i32> = message(&descriptor_set(), "zitadel.user.v2.AddHumanUserRequest")
        .field
        .iter()
        .map(|f| f.number())
        .collect();
    assert_eq!(numbers, [1, 2, 11, 4, 5, 10, 6, 7, 8, 9, 12]);
}

#[test]
fn optional_fields_have_explicit_presence_and_types_are_zitadels() {
    let set = descriptor_set();
    for (message, name) in [
        ("zitadel.user.v2.SendPasswordResetLink", "url_template"),
        ("zitadel.user.v2.PasswordResetResponse", "verification_code"),
        ("zitadel.user.v2.AddHumanUserRequest", "user_id"),
        ("zitadel.user.v2.HumanProfile", "gender"),
        ("zitadel.org.v2.AddOrganizationRequest", "org_id"),
        ("zitadel.session.v2.CreateSessionRequest", "lifetime"),
        ("zitadel.session.v2.SetSessionRequest", "lifetime"),
        ("zitadel.session.v2.GetSessionRequest", "session_token"),
        ("zitadel.session.v2.DeleteSessionRequest", "session_token"),
        ("zitadel.session.v2.Session", "expiration_date"),
        ("zitadel.session.v2.Checks", "user"),
        ("zitadel.session.v2.Checks", "password"),
        ("zitadel.session.v2.Checks", "recovery_code"),
        ("zitadel.session.v2.UserAgent", "fingerprint_id"),
        ("zitadel.session.v2.UserAgent", "ip"),
        ("zitadel.session.v2.UserAgent", "description"),
        ("zitadel.session.v2.CreatorQuery", "id"),
        ("zitadel.session.v2.UserAgentQuery", "fingerprint_id"),
        ("zitadel.session.v2.RequestChallenges", "web_auth_n"),
        ("zitadel.session.v2.Challenges", "otp_sms"),
        (
            "zitadel.session.v2.RequestChallenges.OTPEmail.SendCode",
            "url_template",
        ),
        (
            "zitadel.user.v2.ListAuthenticationMethodTypesRequest",
            "domain_query",
        ),
    ] {
        assert!(
            field(&set, message, name).proto3_optional(),
            "{message}.{name} needs `optional`"
        );
    }
    for (message, name) in [
        ("zitadel.session.v2.SetSessionRequest", "session_token"),
        ("zitadel.session.v2.GetSessionRequest", "session_id"),
        ("zitadel.session.v2.Factors", "password"),
    ] {
        assert!(
            !field(&set, message, name).proto3_optional(),
            "{message}.{name} has no `optional` upstream"
        );
    }
    let sequence = field(&set, "zitadel.object.v2.Details", "sequence");
    assert_eq!(sequence.r#type(), Type::Uint64);
    let admins = field(&set, "zitadel.org.v2.AddOrganizationRequest", "admins");
    assert_eq!(admins.label(), Label::Repeated);
    assert_eq!(
        admins.type_name(),
        ".zitadel.org.v2.AddOrganizationRequest.Admin"
    );
    let human = field(&set, "zitadel.org.v2.AddOrganizationRequest.Admin", "human");
    assert_eq!(human.type_name(), ".zitadel.user.v2.AddHumanUserRequest");
    let details = field(&set, "google.rpc.Status", "details");
    assert_eq!(details.type_name(), ".google.protobuf.Any");
}

#[test]
fn notification_type_values_are_zitadels_mixed_case_names() {
    let set = descriptor_set();
    for package in ["zitadel.user.v2", "zitadel.user.v2beta"] {
        let values: Vec<(String, i32)> = set
            .file
            .iter()
            .filter(|file| file.package() == package)
            .flat_map(|file| &file.enum_type)
            .filter(|e| e.name() == "NotificationType")
            .flat_map(|e| &e.value)
            .map(|v| (v.name().to_owned(), v.number()))
            .collect();
        assert_eq!(
            values,
            [
                ("NOTIFICATION_TYPE_Unspecified".to_owned(), 0),
                ("NOTIFICATION_TYPE_Email".to_owned(), 1),
                ("NOTIFICATION_TYPE_SMS".to_owned(), 2),
            ],
            "{package}"
        );
    }
}

#[test]
fn services_have_zitadels_paths() {
    let set = descriptor_set();
    let methods = |name: &str| -> Vec<(String, String, String)> {
        service(&set, name)
            .method
            .iter()
            .map(|m| {
                (
                    format!("/{name}/{}", m.name()),
                    m.input_type().to_owned(),
                    m.output_type().to_owned(),
                )
            })
            .collect()
    };
    let rpc = |path: &str, input: &str, output: &str| {
        (path.to_owned(), input.to_owned(), output.to_owned())
    };
    assert_eq!(
        methods("zitadel.user.v2.UserService"),
        [
            rpc(
                "/zitadel.user.v2.UserService/AddHumanUser",
                ".zitadel.user.v2.AddHumanUserRequest",
                ".zitadel.user.v2.AddHumanUserResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/GetUserByID",
                ".zitadel.user.v2.GetUserByIDRequest",
                ".zitadel.user.v2.GetUserByIDResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/PasswordReset",
                ".zitadel.user.v2.PasswordResetRequest",
                ".zitadel.user.v2.PasswordResetResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/SetPassword",
                ".zitadel.user.v2.SetPasswordRequest",
                ".zitadel.user.v2.SetPasswordResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/ListAuthenticationMethodTypes",
                ".zitadel.user.v2.ListAuthenticationMethodTypesRequest",
                ".zitadel.user.v2.ListAuthenticationMethodTypesResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/DeactivateUser",
                ".zitadel.user.v2.DeactivateUserRequest",
                ".zitadel.user.v2.DeactivateUserResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/ReactivateUser",
                ".zitadel.user.v2.ReactivateUserRequest",
                ".zitadel.user.v2.ReactivateUserResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/LockUser",
                ".zitadel.user.v2.LockUserRequest",
                ".zitadel.user.v2.LockUserResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/UnlockUser",
                ".zitadel.user.v2.UnlockUserRequest",
                ".zitadel.user.v2.UnlockUserResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/DeleteUser",
                ".zitadel.user.v2.DeleteUserRequest",
                ".zitadel.user.v2.DeleteUserResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/AddPersonalAccessToken",
                ".zitadel.user.v2.AddPersonalAccessTokenRequest",
                ".zitadel.user.v2.AddPersonalAccessTokenResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/RemovePersonalAccessToken",
                ".zitadel.user.v2.RemovePersonalAccessTokenRequest",
                ".zitadel.user.v2.RemovePersonalAccessTokenResponse"
            ),
            rpc(
                "/zitadel.user.v2.UserService/ListPersonalAccessTokens",
                ".zitadel.user.v2.ListPersonalAccessTokensRequest",
                ".zitadel.user.v2.ListPersonalAccessTokensResponse"
            ),
        ]
    );
    assert_eq!(
        methods("zitadel.user.v2beta.UserService"),
        [
            rpc(
                "/zitadel.user.v2beta.UserService/PasswordReset",
                ".zitadel.user.v2beta.PasswordResetRequest",
                ".zitadel.user.v2beta.PasswordResetResponse"
            ),
            rpc(
                "/zitadel.user.v2beta.UserService/SetPassword",
                ".zitadel.user.v2beta.SetPasswordRequest",
                ".zitadel.user.v2beta.SetPasswordResponse"
            ),
        ]
    );
    assert_eq!(
        methods("zitadel.org.v2.OrganizationService"),
        [rpc(
            "/zitadel.org.v2.OrganizationService/AddOrganization",
            ".zitadel.org.v2.AddOrganizationRequest",
            ".zitadel.org.v2.AddOrganizationResponse"
        )]
    );
    let session_rpc = |name: &str| {
        rpc(
            &format!("/zitadel.session.v2.SessionService/{name}"),
            &format!(".zitadel.session.v2.{name}Request"),
            &format!(".zitadel.session.v2.{name}Response"),
        )
    };
    assert_eq!(
        methods("zitadel.session.v2.SessionService"),
        [
            session_rpc("ListSessions"),
            session_rpc("GetSession"),
            session_rpc("CreateSession"),
            session_rpc("SetSession"),
            session_rpc("DeleteSession"),
        ]
    );
    let settings_rpc = |name: &str| {
        rpc(
            &format!("/zitadel.settings.v2.SettingsService/{name}"),
            &format!(".zitadel.settings.v2.{name}Request"),
            &format!(".zitadel.settings.v2.{name}Response"),
        )
    };
    assert_eq!(
        methods("zitadel.settings.v2.SettingsService"),
        [
            settings_rpc("GetPasswordComplexitySettings"),
            settings_rpc("GetLockoutSettings"),
        ]
    );
    for service_name in [
        "zitadel.session.v2.SessionService",
        "zitadel.settings.v2.SettingsService",
        "zitadel.user.v2.UserService",
    ] {
        assert!(
            service(&set, service_name)
                .method
                .iter()
                .all(|m| !m.client_streaming() && !m.server_streaming()),
            "{service_name} is unary only"
        );
    }
}

#[test]
fn generated_services_carry_zitadels_names() {
    use rekey_proto::zitadel::{org, user};
    assert_eq!(
        user::v2::user_service_server::SERVICE_NAME,
        "zitadel.user.v2.UserService"
    );
    assert_eq!(
        user::v2beta::user_service_server::SERVICE_NAME,
        "zitadel.user.v2beta.UserService"
    );
    assert_eq!(
        org::v2::organization_service_server::SERVICE_NAME,
        "zitadel.org.v2.OrganizationService"
    );
    assert_eq!(
        rekey_proto::zitadel::session::v2::session_service_server::SERVICE_NAME,
        "zitadel.session.v2.SessionService"
    );
    assert_eq!(
        rekey_proto::zitadel::settings::v2::settings_service_server::SERVICE_NAME,
        "zitadel.settings.v2.SettingsService"
    );
}

#[test]
fn the_error_detail_lives_in_zitadel_v1() {
    let set = descriptor_set();
    let file = set
        .file
        .iter()
        .find(|file| file.message_type.iter().any(|m| m.name() == "ErrorDetail"))
        .expect("ErrorDetail is compiled");
    assert_eq!(file.package(), "zitadel.v1");
    assert_eq!(file.name(), "zitadel/message.proto");
    assert_eq!(
        rekey_proto::ERROR_DETAIL_TYPE_URL,
        format!("type.googleapis.com/{}.ErrorDetail", file.package())
    );
}

/// The values of the enum of full name `name`, in declaration order.
fn enum_values(set: &FileDescriptorSet, name: &str) -> Vec<(String, i32)> {
    let (package, local) = name.rsplit_once('.').expect("a package");
    let found: Vec<_> = set
        .file
        .iter()
        .filter(|file| file.package() == package)
        .flat_map(|file| &file.enum_type)
        .filter(|e| e.name() == local)
        .collect();
    assert_eq!(found.len(), 1, "one enum {name}");
    found[0]
        .value
        .iter()
        .map(|v| (v.name().to_owned(), v.number()))
        .collect()
}

fn values(expected: &[(&str, i32)]) -> Vec<(String, i32)> {
    expected
        .iter()
        .map(|(name, number)| ((*name).to_owned(), *number))
        .collect()
}

#[test]
fn user_factor_reserves_5_and_organisation_id_as_zitadel_does() {
    let user_factor = message(&descriptor_set(), "zitadel.session.v2.UserFactor");
    let numbers: Vec<i32> = user_factor.field.iter().map(|f| f.number()).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 6]);
    let reserved: Vec<(i32, i32)> = user_factor
        .reserved_range
        .iter()
        .map(|r| (r.start(), r.end()))
        .collect();
    // Descriptor ranges are half-open: 5..6 is field 5 alone.
    assert_eq!(reserved, [(5, 6)]);
    assert_eq!(user_factor.reserved_name, ["organisation_id"]);
}

#[test]
fn new_enums_have_zitadels_values() {
    let set = descriptor_set();
    assert_eq!(
        enum_values(&set, "zitadel.user.v2.AuthenticationMethodType"),
        values(&[
            ("AUTHENTICATION_METHOD_TYPE_UNSPECIFIED", 0),
            ("AUTHENTICATION_METHOD_TYPE_PASSWORD", 1),
            ("AUTHENTICATION_METHOD_TYPE_PASSKEY", 2),
            ("AUTHENTICATION_METHOD_TYPE_IDP", 3),
            ("AUTHENTICATION_METHOD_TYPE_TOTP", 4),
            ("AUTHENTICATION_METHOD_TYPE_U2F", 5),
            ("AUTHENTICATION_METHOD_TYPE_OTP_SMS", 6),
            ("AUTHENTICATION_METHOD_TYPE_OTP_EMAIL", 7),
        ])
    );
    assert_eq!(
        enum_values(&set, "zitadel.settings.v2.ResourceOwnerType"),
        values(&[
            ("RESOURCE_OWNER_TYPE_UNSPECIFIED", 0),
            ("RESOURCE_OWNER_TYPE_INSTANCE", 1),
            ("RESOURCE_OWNER_TYPE_ORG", 2),
        ])
    );
    assert_eq!(
        enum_values(&set, "zitadel.session.v2.SessionFieldName"),
        values(&[
            ("SESSION_FIELD_NAME_UNSPECIFIED", 0),
            ("SESSION_FIELD_NAME_CREATION_DATE", 1),
        ])
    );
    assert_eq!(
        enum_values(&set, "zitadel.session.v2.UserVerificationRequirement"),
        values(&[
            ("USER_VERIFICATION_REQUIREMENT_UNSPECIFIED", 0),
            ("USER_VERIFICATION_REQUIREMENT_REQUIRED", 1),
            ("USER_VERIFICATION_REQUIREMENT_PREFERRED", 2),
            ("USER_VERIFICATION_REQUIREMENT_DISCOURAGED", 3),
        ])
    );
    assert_eq!(
        enum_values(&set, "zitadel.v1.TimestampQueryMethod"),
        values(&[
            ("TIMESTAMP_QUERY_METHOD_EQUALS", 0),
            ("TIMESTAMP_QUERY_METHOD_GREATER", 1),
            ("TIMESTAMP_QUERY_METHOD_GREATER_OR_EQUALS", 2),
            ("TIMESTAMP_QUERY_METHOD_LESS", 3),
            ("TIMESTAMP_QUERY_METHOD_LESS_OR_EQUALS", 4),
        ])
    );
}

#[test]
fn session_and_settings_types_are_zitadels() {
    let set = descriptor_set();
    let type_of = |message: &str, name: &str| {
        let f = field(&set, message, name);
        (f.label(), f.r#type(), f.type_name().to_owned())
    };
    let expected = [
        (
            ("zitadel.session.v2.CreateSessionRequest", "lifetime"),
            (Label::Optional, Type::Message, ".google.protobuf.Duration"),
        ),
        (
            ("zitadel.session.v2.SetSessionRequest", "lifetime"),
            (Label::Optional, Type::Message, ".google.protobuf.Duration"),
        ),
        (
            ("zitadel.session.v2.Session", "expiration_date"),
            (Label::Optional, Type::Message, ".google.protobuf.Timestamp"),
        ),
        (
            ("zitadel.session.v2.CreateSessionRequest", "metadata"),
            (
                Label::Repeated,
                Type::Message,
                ".zitadel.session.v2.CreateSessionRequest.MetadataEntry",
            ),
        ),
        (
            ("zitadel.session.v2.UserAgent", "header"),
            (
                Label::Repeated,
                Type::Message,
                ".zitadel.session.v2.UserAgent.HeaderEntry",
            ),
        ),
        (
            ("zitadel.session.v2.CreationDateQuery", "method"),
            (
                Label::Optional,
                Type::Enum,
                ".zitadel.v1.TimestampQueryMethod",
            ),
        ),
        (
            ("zitadel.session.v2.ExpirationDateQuery", "method"),
            (
                Label::Optional,
                Type::Enum,
                ".zitadel.v1.TimestampQueryMethod",
            ),
        ),
        (
            ("zitadel.session.v2.ListSessionsRequest", "query"),
            (
                Label::Optional,
                Type::Message,
                ".zitadel.object.v2.ListQuery",
            ),
        ),
        (
            ("zitadel.session.v2.ListSessionsResponse", "details"),
            (
                Label::Optional,
                Type::Message,
                ".zitadel.object.v2.ListDetails",
            ),
        ),
        (
            ("zitadel.session.v2.CreateSessionResponse", "details"),
            (Label::Optional, Type::Message, ".zitadel.object.v2.Details"),
        ),
        (
            (
                "zitadel.session.v2.CheckWebAuthN",
                "credential_assertion_data",
            ),
            (Label::Optional, Type::Message, ".google.protobuf.Struct"),
        ),
        (
            ("zitadel.settings.v2.GetLockoutSettingsRequest", "ctx"),
            (
                Label::Optional,
                Type::Message,
                ".zitadel.object.v2.RequestContext",
            ),
        ),
        (
            ("zitadel.settings.v2.LockoutSettings", "resource_owner_type"),
            (
                Label::Optional,
                Type::Enum,
                ".zitadel.settings.v2.ResourceOwnerType",
            ),
        ),
        (
            (
                "zitadel.user.v2.ListAuthenticationMethodTypesResponse",
                "auth_method_types",
            ),
            (
                Label::Repeated,
                Type::Enum,
                ".zitadel.user.v2.AuthenticationMethodType",
            ),
        ),
    ];
    for ((message, name), (label, r#type, type_name)) in expected {
        assert_eq!(
            type_of(message, name),
            (label, r#type, type_name.to_owned()),
            "{message}.{name}"
        );
    }
    let scalars = [
        ("zitadel.session.v2.Session", "sequence", Type::Uint64),
        ("zitadel.object.v2.ListQuery", "offset", Type::Uint64),
        ("zitadel.object.v2.ListQuery", "limit", Type::Uint32),
        (
            "zitadel.object.v2.ListDetails",
            "total_result",
            Type::Uint64,
        ),
        (
            "zitadel.settings.v2.LockoutSettings",
            "max_password_attempts",
            Type::Uint64,
        ),
        (
            "zitadel.settings.v2.LockoutSettings",
            "max_otp_attempts",
            Type::Uint64,
        ),
        (
            "zitadel.settings.v2.PasswordComplexitySettings",
            "min_length",
            Type::Uint64,
        ),
        (
            "zitadel.v1.CredentialsCheckError",
            "failed_attempts",
            Type::Int32,
        ),
        ("zitadel.object.v2.RequestContext", "instance", Type::Bool),
    ];
    for (message, name, r#type) in scalars {
        assert_eq!(
            field(&set, message, name).r#type(),
            r#type,
            "{message}.{name}"
        );
    }
}

#[test]
fn oneofs_have_zitadels_names_and_members() {
    let set = descriptor_set();
    let members = |message_name: &str| -> Vec<(String, Vec<String>)> {
        let m = message(&set, message_name);
        m.oneof_decl
            .iter()
            .enumerate()
            .map(|(index, decl)| {
                let index = i32::try_from(index).expect("few oneofs");
                let fields: Vec<_> = m
                    .field
                    .iter()
                    .filter(|f| f.oneof_index == Some(index))
                    .collect();
                (decl.name().to_owned(), fields)
            })
            // A proto3 `optional` is a synthetic oneof of its own: not a real one.
            .filter(|(_, fields)| !fields.iter().any(|f| f.proto3_optional()))
            .map(|(name, fields)| (name, fields.iter().map(|f| f.name().to_owned()).collect()))
            .collect()
    };
    let one = |name: &str, fields: &[&str]| {
        vec![(
            name.to_owned(),
            fields.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>(),
        )]
    };
    assert_eq!(
        members("zitadel.session.v2.CheckUser"),
        one("search", &["user_id", "login_name"])
    );
    assert_eq!(
        members("zitadel.session.v2.SearchQuery"),
        one(
            "query",
            &[
                "ids_query",
                "user_id_query",
                "creation_date_query",
                "creator_query",
                "user_agent_query",
                "expiration_date_query",
            ]
        )
    );
    assert_eq!(
        members("zitadel.session.v2.RequestChallenges.OTPEmail"),
        one("delivery_type", &["send_code", "return_code"])
    );
    assert_eq!(
        members("zitadel.object.v2.RequestContext"),
        one("resource_owner", &["org_id", "instance"])
    );
    // Every member of `Checks` is a proto3 `optional`, none is in a real oneof.
    assert_eq!(members("zitadel.session.v2.Checks"), []);
}

#[test]
fn json_names_are_zitadels() {
    let set = descriptor_set();
    for (message, name, json) in [
        ("zitadel.session.v2.Checks", "web_auth_n", "webAuthN"),
        ("zitadel.session.v2.Checks", "idp_intent", "idpIntent"),
        ("zitadel.session.v2.Checks", "otp_sms", "otpSms"),
        ("zitadel.session.v2.Checks", "recovery_code", "recoveryCode"),
        ("zitadel.session.v2.CheckUser", "login_name", "loginName"),
        (
            "zitadel.session.v2.CreateSessionRequest",
            "user_agent",
            "userAgent",
        ),
        (
            "zitadel.session.v2.CreateSessionResponse",
            "session_token",
            "sessionToken",
        ),
        (
            "zitadel.session.v2.Session",
            "expiration_date",
            "expirationDate",
        ),
        (
            "zitadel.session.v2.UserFactor",
            "organization_id",
            "organizationId",
        ),
        (
            "zitadel.session.v2.UserAgent",
            "fingerprint_id",
            "fingerprintId",
        ),
        ("zitadel.session.v2.SearchQuery", "ids_query", "idsQuery"),
        (
            "zitadel.session.v2.ListSessionsRequest",
            "sorting_column",
            "sortingColumn",
        ),
        (
            "zitadel.object.v2.ListDetails",
            "total_result",
            "totalResult",
        ),
        ("zitadel.object.v2.RequestContext", "org_id", "orgId"),
        (
            "zitadel.settings.v2.LockoutSettings",
            "max_password_attempts",
            "maxPasswordAttempts",
        ),
        (
            "zitadel.settings.v2.PasswordComplexitySettings",
            "resource_owner_type",
            "resourceOwnerType",
        ),
        (
            "zitadel.user.v2.ListAuthenticationMethodTypesResponse",
            "auth_method_types",
            "authMethodTypes",
        ),
        (
            "zitadel.v1.CredentialsCheckError",
            "failed_attempts",
            "failedAttempts",
        ),
    ] {
        assert_eq!(
            field(&set, message, name).json_name(),
            json,
            "{message}.{name}"
        );
    }
}

#[test]
fn types_live_in_zitadels_files() {
    let set = descriptor_set();
    let file_of = |package: &str, name: &str| -> String {
        set.file
            .iter()
            .find(|file| {
                file.package() == package
                    && (file.message_type.iter().any(|m| m.name() == name)
                        || file.enum_type.iter().any(|e| e.name() == name)
                        || file.service.iter().any(|s| s.name() == name))
            })
            .unwrap_or_else(|| panic!("no {package}.{name}"))
            .name()
            .to_owned()
    };
    for (package, name, file) in [
        (
            "zitadel.session.v2",
            "SessionService",
            "zitadel/session/v2/session_service.proto",
        ),
        (
            "zitadel.session.v2",
            "Checks",
            "zitadel/session/v2/session_service.proto",
        ),
        (
            "zitadel.session.v2",
            "Session",
            "zitadel/session/v2/session.proto",
        ),
        (
            "zitadel.session.v2",
            "UserAgent",
            "zitadel/session/v2/session.proto",
        ),
        (
            "zitadel.session.v2",
            "RequestChallenges",
            "zitadel/session/v2/challenge.proto",
        ),
        ("zitadel.v1", "TimestampQueryMethod", "zitadel/object.proto"),
        (
            "zitadel.v1",
            "CredentialsCheckError",
            "zitadel/message.proto",
        ),
        (
            "zitadel.object.v2",
            "RequestContext",
            "zitadel/object/v2/object.proto",
        ),
        (
            "zitadel.settings.v2",
            "SettingsService",
            "zitadel/settings/v2/settings_service.proto",
        ),
        (
            "zitadel.settings.v2",
            "LockoutSettings",
            "zitadel/settings/v2/lockout_settings.proto",
        ),
        (
            "zitadel.settings.v2",
            "PasswordComplexitySettings",
            "zitadel/settings/v2/password_settings.proto",
        ),
        (
            "zitadel.settings.v2",
            "ResourceOwnerType",
            "zitadel/settings/v2/settings.proto",
        ),
    ] {
        assert_eq!(file_of(package, name), file, "{package}.{name}");
    }
}
