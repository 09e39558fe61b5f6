//! The API's routes (listed in `API.md`), and the token check in front of them.

use std::sync::Arc;
use std::time::SystemTime;

use antimony_engine::runtime::EMITTED;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::{Shared, alerts, assets, auth, cluster, plan, prometheus, stats};

type Api = State<Arc<Shared>>;

/// Every route; all but health and readiness behind the token.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let guarded = Router::new()
        .route("/", get(index))
        .route("/assets/{name}", get(asset))
        .route("/api/topology", get(topology))
        .route("/api/stats", get(stats))
        .route("/api/alerts", get(alerts))
        .route("/metrics", get(metrics))
        .route("/api/deactivate", post(deactivate))
        .route("/api/activate", post(activate))
        .route("/api/kill", post(kill))
        .route("/api/report", post(report))
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            require_token,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(guarded)
        .fallback(not_found)
        .layer(middleware::map_response(security_headers))
        .with_state(shared)
}

/// On every answer: the page's content security policy, no type sniffing, no framing.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(assets::CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    response
}

/// Refuses a call without the token (when one is set) with 401, saying how to give it.
async fn require_token(State(shared): Api, request: Request, next: Next) -> Response {
    let by_header = auth::allowed(shared.token.as_deref(), request.headers());
    // The dashboard's page itself is fetched by a browser, which cannot set a header on
    // a typed URL: its HTML (no data in it) is served freely, and the page sends the
    // token from its URL on every call it makes.
    let page = matches!(request.uri().path(), "/") || request.uri().path().starts_with("/assets/");
    if by_header || page {
        return next.run(request).await;
    }
    let mut refused = error(
        StatusCode::UNAUTHORIZED,
        "this API needs its token: Authorization: Bearer <token> (the run's --api-token or ANTIMONY_API_TOKEN)",
    );
    refused.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    refused
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such call: see API.md")
}

async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        assets::INDEX,
    )
        .into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match assets::find(&name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            asset.body,
        )
            .into_response(),
        None => not_found().await,
    }
}

async fn topology(State(shared): Api) -> Response {
    Json(plan::topology(&shared.view)).into_response()
}

async fn stats(State(shared): Api) -> Response {
    Json(stats::stats(&shared)).into_response()
}

async fn alerts(
    State(shared): Api,
    query: Result<Query<alerts::Query>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(query)) => query,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, &rejection.body_text()),
    };
    match alerts::alerts(&shared.view.feed, &query, SystemTime::now()) {
        Ok(answer) => Json(answer).into_response(),
        Err(bad) => error(StatusCode::BAD_REQUEST, &bad.to_string()),
    }
}

async fn metrics(State(shared): Api) -> Response {
    (
        [(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)],
        prometheus::exposition(shared.snapshot()),
    )
        .into_response()
}

async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// Ready once the engine has built the dataflow (its series exist) and until the run stops.
async fn readyz(State(shared): Api) -> Response {
    let started = shared
        .view
        .metrics
        .snapshot()
        .iter()
        .any(|s| s.name == EMITTED.name);
    let (status, state) = match (started, shared.view.control.is_stopped()) {
        (_, true) => (StatusCode::SERVICE_UNAVAILABLE, "stopping"),
        (false, false) => (StatusCode::SERVICE_UNAVAILABLE, "starting"),
        (true, false) => (StatusCode::OK, "ready"),
    };
    (status, Json(json!({ "status": state }))).into_response()
}

async fn deactivate(State(shared): Api) -> Response {
    shared.view.control.pause();
    tracing::info!("deactivated through the API: the sources are paused");
    Json(json!({ "state": "paused" })).into_response()
}

async fn activate(State(shared): Api) -> Response {
    shared.view.control.resume();
    tracing::info!("activated through the API: the sources resume");
    Json(json!({ "state": "running" })).into_response()
}

async fn kill(State(shared): Api) -> Response {
    shared.view.control.stop();
    tracing::info!("killed through the API: draining, then stopping");
    Json(json!({ "state": "stopping" })).into_response()
}

/// Another process's registry (in a cluster); answered with the run's control state, which
/// the reporter follows.
async fn report(
    State(shared): Api,
    report: Result<Json<cluster::Report>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let report = match report {
        Ok(Json(report)) => report,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, &rejection.body_text()),
    };
    if report.process == 0 || report.process >= shared.view.processes {
        return error(
            StatusCode::BAD_REQUEST,
            "a report comes from a process of the cluster other than 0",
        );
    }
    shared.reports.take(report);
    let control = &shared.view.control;
    Json(cluster::Control {
        paused: control.is_paused(),
        stopped: control.is_stopped(),
    })
    .into_response()
}
