//! `/genre` and `/country`: the reference data, read like any data.

use serde_json::Value;

use super::harness::{Ctx, Outcome, ensure, has_keys, is_sorted_strings};

pub(super) async fn genre_list(ctx: &Ctx) -> Outcome {
    let genres = ctx.get_array("/genre").await?;
    ensure(genres.len() >= 10, || {
        format!("GET /genre: only {} genres", genres.len())
    })?;
    for g in &genres {
        has_keys(g, &["id", "name"], "a genre")?;
    }
    let names: Vec<Value> = genres.iter().map(|g| g["name"].clone()).collect();
    ensure(is_sorted_strings(&names), || {
        "GET /genre: not ordered by name".to_string()
    })
}

pub(super) async fn country_list(ctx: &Ctx) -> Outcome {
    let countries = ctx.get_array("/country").await?;
    ensure(countries.len() == 249, || {
        format!("GET /country: {} countries, expected 249", countries.len())
    })?;
    for c in &countries {
        has_keys(c, &["code", "name"], "a country")?;
    }
    let codes: Vec<Value> = countries.iter().map(|c| c["code"].clone()).collect();
    ensure(is_sorted_strings(&codes), || {
        "GET /country: not ordered by code".to_string()
    })?;
    ensure(codes.iter().any(|c| c == "NZ"), || {
        "GET /country: no NZ".to_string()
    })
}
