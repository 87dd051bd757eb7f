use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

#[derive(Clone)]
struct AppState {
    db: PgPool,
    http: reqwest::Client,
    fraud: reqwest::Client,
}

#[derive(Deserialize, Serialize)]
struct Order {
    id: i64,
    customer: String,
    total_cents: i64,
}

#[derive(Deserialize)]
struct FraudVerdict {
    allow: bool,
}

async fn get_order(State(state): State<AppState>, Path(id): Path<i64>) -> Json<Order> {
    let order = sqlx::query_as::<_, (i64, String, i64)>("select id, customer, total_cents from orders where id = $1")
        .bind(id)
        .fetch_one(&state.db)
        .await
        .unwrap();
    Json(Order { id: order.0, customer: order.1, total_cents: order.2 })
}

async fn create_order(State(state): State<AppState>, Json(order): Json<Order>) -> Result<Json<Order>, String> {
    let verdict: FraudVerdict = state
        .fraud
        .post("https://fraud.example.com/check")
        .json(&order)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .error_for_status()
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    if !verdict.allow {
        return Err("rejected".into());
    }
    let _ = state.http.post("https://hooks.example.com/orders").json(&order).send().await;
    let rates = state
        .http
        .get("https://rates.example.com/usd")
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json::<serde_json::Value>()
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(?rates, "order accepted");
    Ok(Json(order))
}

#[tokio::main]
async fn main() {
    let db = PgPool::connect(&std::env::var("DATABASE_URL").unwrap()).await.expect("database");
    let state = AppState {
        db,
        http: reqwest::Client::new(),
        fraud: reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("client"),
    };
    let app = Router::new()
        .route("/orders", post(create_order))
        .route("/orders/:id", get(get_order))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.expect("bind");
    axum::serve(listener, app).await.expect("server");
}
