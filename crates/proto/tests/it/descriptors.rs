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
        ("google.rpc.Status", "details", 3),
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
    ] {
        assert!(
            field(&set, message, name).proto3_optional(),
            "{message}.{name} needs `optional`"
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
