//! The floor of a whole PasswordReset over HTTP: actix-web and tokio-postgres doing what rekey
//! does on the wire for one returnCode reset — take the request, parse its JSON, run the
//! reset's statements on a connection of the worker's own, answer the JSON — and nothing of
//! rekey's: no token check, no use case, no diesel, no metrics, no logs.
//!
//! It runs as a process of its own (`xtask bench --bare-server URL PORT CONNECTIONS`), with
//! rekey's shape: one HTTP worker per CPU, each with `CONNECTIONS / workers` connections (at
//! least two; the bench passes the `max_connections` it gives rekey) opened on its thread. Its
//! CPU per request, next to rekey's in the same run, is what the framework and the driver cost
//! before rekey adds anything.

use std::cell::RefCell;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use super::floor::{self, Floor};

/// `xtask bench --bare-server URL PORT CONNECTIONS`: serves
/// `POST /v2/users/bench-N/password_reset` until killed.
pub fn run(args: &[String]) -> Result<(), String> {
    let [url, port, connections] = args else {
        return Err("usage: xtask bench --bare-server URL PORT CONNECTIONS".into());
    };
    let port: u16 = port.parse().map_err(|_| format!("not a port: {port}"))?;
    let connections: usize = connections
        .parse()
        .map_err(|_| format!("not a number of connections: {connections}"))?;
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let per_worker = (connections / workers).max(2);
    let url = url.clone();
    actix_web::rt::System::new()
        .block_on(async move {
            HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::new(Pool::new(url.clone(), per_worker)))
                    .route("/v2/users/{id}/password_reset", web::post().to(reset))
            })
            .workers(workers)
            .bind(("127.0.0.1", port))?
            .run()
            .await
        })
        .map_err(|e| e.to_string())
}

/// A worker's connections, each with the reset's statements prepared, opened when first
/// needed; a request holds one for its statements, as a bb8 checkout does.
struct Pool {
    url: String,
    idle: RefCell<Vec<floor::Connection>>,
    permits: tokio::sync::Semaphore,
}

impl Pool {
    fn new(url: String, size: usize) -> Self {
        Self {
            url,
            idle: RefCell::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(size),
        }
    }
}

async fn reset(
    pool: web::Data<Pool>,
    user: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let Some(n) = user
        .strip_prefix("bench-")
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return HttpResponse::NotFound().finish();
    };
    if !body.get("returnCode").is_some_and(Value::is_object) {
        return HttpResponse::BadRequest().finish();
    }
    let Ok(_permit) = pool.permits.acquire().await else {
        return HttpResponse::ServiceUnavailable().finish();
    };
    let popped = pool.idle.borrow_mut().pop();
    let connection = match popped {
        Some(connection) => connection,
        None => match floor::connect(&pool.url, Floor::ReturnCode).await {
            Ok(connection) => connection,
            Err(_) => return HttpResponse::ServiceUnavailable().finish(),
        },
    };
    let outcome = floor::reset(&connection, n).await;
    pool.idle.borrow_mut().push(connection);
    match outcome {
        Ok(sequence) => HttpResponse::Ok().json(json!({
            "details": {
                "sequence": (sequence + 1).to_string(),
                "changeDate": "2026-01-01T00:00:00Z",
                "resourceOwner": "bench-org",
            },
            "verificationCode": "ABCDEFGH",
        })),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}
