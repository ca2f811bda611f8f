//! Every request type, with every field set to a non-default value, survives encode → decode;
//! and the v2beta twins encode to the same bytes as v2.

use prost::Message;
use rekey_proto::prost;
use rekey_proto::prost_types::Duration;
use rekey_proto::prost_types::Timestamp;
use rekey_proto::zitadel::object::{v2 as object, v2beta as object_beta};
use rekey_proto::zitadel::org::v2 as org;
use rekey_proto::zitadel::session::v2 as session;
use rekey_proto::zitadel::settings::v2 as settings;
use rekey_proto::zitadel::user::{v2, v2beta};

fn round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(message: &M) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    let decoded = M::decode(bytes.as_slice()).expect("our own bytes decode");
    assert_eq!(&decoded, message);
    bytes
}

fn add_human_user() -> v2::AddHumanUserRequest {
    v2::AddHumanUserRequest {
        user_id: Some("u1".to_owned()),
        username: Some("minnie".to_owned()),
        organization: Some(object::Organization {
            org: Some(object::organization::Org::OrgId("o1".to_owned())),
        }),
        profile: Some(v2::SetHumanProfile {
            given_name: "Minnie".to_owned(),
            family_name: "Mouse".to_owned(),
            nick_name: Some("Mini".to_owned()),
            display_name: Some("Minnie Mouse".to_owned()),
            preferred_language: Some("en".to_owned()),
            gender: Some(v2::Gender::Female.into()),
        }),
        email: Some(v2::SetHumanEmail {
            email: "minnie@example.com".to_owned(),
            verification: Some(v2::set_human_email::Verification::SendCode(
                v2::SendEmailVerificationCode {
                    url_template: Some("https://x/{{.Code}}".to_owned()),
                },
            )),
        }),
        phone: Some(v2::SetHumanPhone {
            phone: "+41791234567".to_owned(),
            verification: Some(v2::set_human_phone::Verification::IsVerified(true)),
        }),
        metadata: vec![v2::SetMetadataEntry {
            key: "k".to_owned(),
            value: b"v".to_vec(),
        }],
        password_type: Some(v2::add_human_user_request::PasswordType::Password(
            v2::Password {
                password: "Secr3t!pass".to_owned(),
                change_required: true,
            },
        )),
        idp_links: vec![v2::IdpLink {
            idp_id: "idp".to_owned(),
            user_id: "ext".to_owned(),
            user_name: "ext-name".to_owned(),
        }],
        totp_secret: Some("JBSWY3DPEHPK3PXP".to_owned()),
    }
}

#[test]
fn password_reset_requests_round_trip() {
    round_trip(&v2::PasswordResetRequest {
        user_id: "u1".to_owned(),
        medium: Some(v2::password_reset_request::Medium::SendLink(
            v2::SendPasswordResetLink {
                notification_type: v2::NotificationType::Sms.into(),
                url_template: Some("https://x/{{.Code}}".to_owned()),
            },
        )),
    });
    round_trip(&v2::PasswordResetRequest {
        user_id: "u1".to_owned(),
        medium: Some(v2::password_reset_request::Medium::ReturnCode(
            v2::ReturnPasswordResetCode {},
        )),
    });
}

#[test]
fn set_password_requests_round_trip() {
    for verification in [
        v2::set_password_request::Verification::CurrentPassword("old".to_owned()),
        v2::set_password_request::Verification::VerificationCode("ABC123".to_owned()),
    ] {
        round_trip(&v2::SetPasswordRequest {
            user_id: "u1".to_owned(),
            new_password: Some(v2::Password {
                password: "n3w!Password".to_owned(),
                change_required: true,
            }),
            verification: Some(verification),
        });
    }
}

#[test]
fn add_human_user_request_round_trips() {
    round_trip(&add_human_user());
    let mut hashed = add_human_user();
    hashed.password_type = Some(v2::add_human_user_request::PasswordType::HashedPassword(
        v2::HashedPassword {
            hash: "$argon2id$...".to_owned(),
            change_required: false,
        },
    ));
    hashed.organization = Some(object::Organization {
        org: Some(object::organization::Org::OrgDomain(
            "example.com".to_owned(),
        )),
    });
    round_trip(&hashed);
}

#[test]
fn get_user_by_id_request_and_response_round_trip() {
    round_trip(&v2::GetUserByIdRequest {
        user_id: "u1".to_owned(),
    });
    let details = object::Details {
        sequence: 42,
        change_date: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 5,
        }),
        resource_owner: "o1".to_owned(),
        creation_date: Some(Timestamp {
            seconds: 1_600_000_000,
            nanos: 0,
        }),
    };
    round_trip(&v2::GetUserByIdResponse {
        details: Some(details.clone()),
        user: Some(v2::User {
            user_id: "u1".to_owned(),
            details: Some(details),
            state: v2::UserState::Initial.into(),
            username: "minnie".to_owned(),
            login_names: vec!["minnie@o1".to_owned()],
            preferred_login_name: "minnie@o1".to_owned(),
            r#type: Some(v2::user::Type::Human(v2::HumanUser {
                profile: Some(v2::HumanProfile {
                    given_name: "Minnie".to_owned(),
                    nick_name: Some(String::new()),
                    gender: Some(v2::Gender::Unspecified.into()),
                    avatar_url: "https://x/a.png".to_owned(),
                    ..Default::default()
                }),
                email: Some(v2::HumanEmail {
                    email: "minnie@example.com".to_owned(),
                    is_verified: true,
                }),
                phone: Some(v2::HumanPhone::default()),
                password_change_required: true,
                password_changed: Some(Timestamp {
                    seconds: 1,
                    nanos: 0,
                }),
                ..Default::default()
            })),
        }),
    });
}

#[test]
fn add_organization_request_round_trips() {
    round_trip(&org::AddOrganizationRequest {
        name: "Acme".to_owned(),
        admins: vec![
            org::add_organization_request::Admin {
                user_type: Some(org::add_organization_request::admin::UserType::UserId(
                    "u0".to_owned(),
                )),
                roles: vec!["ORG_OWNER".to_owned()],
            },
            org::add_organization_request::Admin {
                user_type: Some(org::add_organization_request::admin::UserType::Human(
                    add_human_user(),
                )),
                roles: Vec::new(),
            },
        ],
        org_id: Some("old-id".to_owned()),
        organization_id: Some("new-id".to_owned()),
    });
}

#[test]
fn v2beta_requests_round_trip_to_the_bytes_of_v2() {
    let v2_reset = v2::PasswordResetRequest {
        user_id: "u1".to_owned(),
        medium: Some(v2::password_reset_request::Medium::SendLink(
            v2::SendPasswordResetLink {
                notification_type: v2::NotificationType::Email.into(),
                url_template: Some("https://x/{{.Code}}".to_owned()),
            },
        )),
    };
    let beta_reset = v2beta::PasswordResetRequest {
        user_id: "u1".to_owned(),
        medium: Some(v2beta::password_reset_request::Medium::SendLink(
            v2beta::SendPasswordResetLink {
                notification_type: v2beta::NotificationType::Email.into(),
                url_template: Some("https://x/{{.Code}}".to_owned()),
            },
        )),
    };
    assert_eq!(round_trip(&beta_reset), v2_reset.encode_to_vec());

    let v2_set = v2::SetPasswordRequest {
        user_id: "u1".to_owned(),
        new_password: Some(v2::Password {
            password: "n3w!Password".to_owned(),
            change_required: true,
        }),
        verification: Some(v2::set_password_request::Verification::VerificationCode(
            "ABC123".to_owned(),
        )),
    };
    let beta_set = v2beta::SetPasswordRequest {
        user_id: "u1".to_owned(),
        new_password: Some(v2beta::Password {
            password: "n3w!Password".to_owned(),
            change_required: true,
        }),
        verification: Some(
            v2beta::set_password_request::Verification::VerificationCode("ABC123".to_owned()),
        ),
    };
    assert_eq!(round_trip(&beta_set), v2_set.encode_to_vec());

    let details = |sequence| object::Details {
        sequence,
        change_date: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        resource_owner: "o1".to_owned(),
        creation_date: None,
    };
    let beta_response = v2beta::PasswordResetResponse {
        details: Some(object_beta::Details {
            sequence: 7,
            change_date: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            resource_owner: "o1".to_owned(),
            creation_date: None,
        }),
        verification_code: Some("ABC123".to_owned()),
    };
    let v2_response = v2::PasswordResetResponse {
        details: Some(details(7)),
        verification_code: Some("ABC123".to_owned()),
    };
    assert_eq!(round_trip(&beta_response), round_trip(&v2_response));
}

fn checks() -> session::Checks {
    session::Checks {
        user: Some(session::CheckUser {
            search: Some(session::check_user::Search::LoginName(
                "minnie@example.com".to_owned(),
            )),
        }),
        password: Some(session::CheckPassword {
            password: "Secr3t!pass".to_owned(),
        }),
        totp: Some(session::CheckTotp {
            code: "123456".to_owned(),
        }),
        recovery_code: Some(session::CheckRecoveryCode {
            code: "ABCD-EFGH".to_owned(),
        }),
        ..Default::default()
    }
}

fn user_agent() -> session::UserAgent {
    session::UserAgent {
        fingerprint_id: Some("fp".to_owned()),
        ip: Some(String::new()),
        description: Some("Firefox".to_owned()),
        header: [(
            "user-agent".to_owned(),
            session::user_agent::HeaderValues {
                values: vec!["Mozilla/5.0".to_owned()],
            },
        )]
        .into(),
    }
}

#[test]
fn session_requests_round_trip() {
    let challenges = session::RequestChallenges {
        otp_email: Some(session::request_challenges::OtpEmail {
            delivery_type: Some(
                session::request_challenges::otp_email::DeliveryType::SendCode(
                    session::request_challenges::otp_email::SendCode {
                        url_template: Some("https://x/{{.Code}}".to_owned()),
                    },
                ),
            ),
        }),
        ..Default::default()
    };
    round_trip(&session::CreateSessionRequest {
        checks: Some(checks()),
        metadata: [("k".to_owned(), b"v".to_vec())].into(),
        challenges: Some(challenges.clone()),
        user_agent: Some(user_agent()),
        lifetime: Some(Duration {
            seconds: 18_000,
            nanos: 0,
        }),
    });
    round_trip(&session::SetSessionRequest {
        session_id: "s1".to_owned(),
        session_token: "t1".to_owned(),
        checks: Some(session::Checks {
            password: Some(session::CheckPassword {
                password: "Secr3t!pass".to_owned(),
            }),
            ..Default::default()
        }),
        metadata: [("k".to_owned(), Vec::new())].into(),
        challenges: Some(challenges),
        lifetime: Some(Duration {
            seconds: 0,
            nanos: 1,
        }),
    });
    round_trip(&session::GetSessionRequest {
        session_id: "s1".to_owned(),
        session_token: Some("t1".to_owned()),
    });
    round_trip(&session::DeleteSessionRequest {
        session_id: "s1".to_owned(),
        session_token: None,
    });
    round_trip(&session::ListSessionsRequest {
        query: Some(object::ListQuery {
            offset: 10,
            limit: 20,
            asc: true,
        }),
        queries: vec![
            session::SearchQuery {
                query: Some(session::search_query::Query::IdsQuery(session::IDsQuery {
                    ids: vec!["s1".to_owned(), "s2".to_owned()],
                })),
            },
            session::SearchQuery {
                query: Some(session::search_query::Query::ExpirationDateQuery(
                    session::ExpirationDateQuery {
                        expiration_date: Some(Timestamp {
                            seconds: 1_700_000_000,
                            nanos: 0,
                        }),
                        method: rekey_proto::zitadel::v1::TimestampQueryMethod::GreaterOrEquals
                            .into(),
                    },
                )),
            },
            session::SearchQuery {
                query: Some(session::search_query::Query::UserAgentQuery(
                    session::UserAgentQuery {
                        fingerprint_id: None,
                    },
                )),
            },
        ],
        sorting_column: session::SessionFieldName::CreationDate.into(),
    });
}

#[test]
fn session_responses_round_trip() {
    let at = Some(Timestamp {
        seconds: 1_700_000_000,
        nanos: 7,
    });
    round_trip(&session::GetSessionResponse {
        session: Some(session::Session {
            id: "s1".to_owned(),
            creation_date: at,
            change_date: at,
            sequence: u64::MAX,
            factors: Some(session::Factors {
                user: Some(session::UserFactor {
                    verified_at: at,
                    id: "u1".to_owned(),
                    login_name: "minnie@example.com".to_owned(),
                    display_name: "Minnie Mouse".to_owned(),
                    organization_id: "o1".to_owned(),
                }),
                password: Some(session::PasswordFactor { verified_at: at }),
                ..Default::default()
            }),
            metadata: [("k".to_owned(), b"v".to_vec())].into(),
            user_agent: Some(user_agent()),
            expiration_date: at,
        }),
    });
    round_trip(&session::ListSessionsResponse {
        details: Some(object::ListDetails {
            total_result: 1,
            processed_sequence: 2,
            timestamp: at,
        }),
        sessions: vec![session::Session::default()],
    });
    round_trip(&session::SetSessionResponse {
        details: None,
        session_token: "t2".to_owned(),
        challenges: Some(session::Challenges {
            otp_sms: Some("123456".to_owned()),
            ..Default::default()
        }),
    });
}

#[test]
fn settings_and_authentication_method_messages_round_trip() {
    for ctx in [
        object::request_context::ResourceOwner::OrgId("o1".to_owned()),
        object::request_context::ResourceOwner::Instance(true),
    ] {
        round_trip(&settings::GetLockoutSettingsRequest {
            ctx: Some(object::RequestContext {
                resource_owner: Some(ctx.clone()),
            }),
        });
        round_trip(&settings::GetPasswordComplexitySettingsRequest {
            ctx: Some(object::RequestContext {
                resource_owner: Some(ctx),
            }),
        });
    }
    round_trip(&settings::GetLockoutSettingsResponse {
        details: None,
        settings: Some(settings::LockoutSettings {
            max_password_attempts: 5,
            resource_owner_type: settings::ResourceOwnerType::Org.into(),
            max_otp_attempts: 3,
        }),
    });
    round_trip(&settings::GetPasswordComplexitySettingsResponse {
        details: None,
        settings: Some(settings::PasswordComplexitySettings {
            min_length: 8,
            requires_uppercase: true,
            requires_lowercase: true,
            requires_number: true,
            requires_symbol: true,
            resource_owner_type: settings::ResourceOwnerType::Instance.into(),
        }),
    });
    round_trip(&v2::ListAuthenticationMethodTypesRequest {
        user_id: "u1".to_owned(),
        domain_query: Some(v2::DomainQuery {
            include_without_domain: true,
            domain: "example.com".to_owned(),
        }),
    });
    round_trip(&v2::ListAuthenticationMethodTypesResponse {
        details: Some(object::ListDetails::default()),
        auth_method_types: vec![
            v2::AuthenticationMethodType::Password.into(),
            v2::AuthenticationMethodType::OtpEmail.into(),
        ],
    });
}
