//! The reference data: genres and countries, read from the database on
//! every request like any data endpoint.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{client, col};
use crate::AppState;
use crate::error::{AppError, ErrorBody};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_genres))
        .routes(routes!(list_countries))
}

const GENRES: &str = "SELECT id, name FROM genre ORDER BY name";
const COUNTRIES: &str = "SELECT code, name FROM country ORDER BY code";

#[derive(Debug, Serialize, ToSchema)]
pub struct Genre {
    pub id: i32,
    #[schema(example = "Fantasy")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Country {
    #[schema(example = "GB")]
    pub code: String,
    #[schema(example = "United Kingdom")]
    pub name: String,
}

/// List genres
///
/// Every genre, ordered by name.
#[utoipa::path(
    get,
    path = "/genre",
    tag = "reference",
    responses(
        (status = 200, description = "All genres", body = [Genre]),
        (status = 503, description = "Database unavailable", body = ErrorBody)
    )
)]
pub async fn list_genres(State(state): State<AppState>) -> Result<Json<Vec<Genre>>, AppError> {
    let client = client(&state).await?;
    let stmt = client.prepare_cached(GENRES).await?;
    let rows = client.query(&stmt, &[]).await?;
    let genres = rows
        .iter()
        .map(|r| {
            Ok(Genre {
                id: col(r, 0)?,
                name: col(r, 1)?,
            })
        })
        .collect::<Result<_, AppError>>()?;
    Ok(Json(genres))
}

/// List countries
///
/// Every ISO 3166-1 country, ordered by code.
#[utoipa::path(
    get,
    path = "/country",
    tag = "reference",
    responses(
        (status = 200, description = "All countries", body = [Country]),
        (status = 503, description = "Database unavailable", body = ErrorBody)
    )
)]
pub async fn list_countries(State(state): State<AppState>) -> Result<Json<Vec<Country>>, AppError> {
    let client = client(&state).await?;
    let stmt = client.prepare_cached(COUNTRIES).await?;
    let rows = client.query(&stmt, &[]).await?;
    let countries = rows
        .iter()
        .map(|r| {
            Ok(Country {
                code: col(r, 0)?,
                name: col(r, 1)?,
            })
        })
        .collect::<Result<_, AppError>>()?;
    Ok(Json(countries))
}
