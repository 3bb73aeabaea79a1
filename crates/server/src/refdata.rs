//! The static reference data (countries and genres), read once at start-up
//! to validate writes without a query: the contract allows holding these
//! small, fixed tables in memory. Responses never come from here.

use std::collections::{HashMap, HashSet};

use tokio_postgres::GenericClient;

const COUNTRY_CODES: &str = "SELECT code FROM country";
const GENRE_IDS: &str = "SELECT id, name FROM genre";

/// The country codes and genre ids that exist.
#[derive(Debug, Default)]
pub struct RefData {
    countries: HashSet<String>,
    genres: HashMap<String, i32>,
}

impl RefData {
    pub async fn load(client: &impl GenericClient) -> Result<Self, tokio_postgres::Error> {
        let countries = client
            .query(COUNTRY_CODES, &[])
            .await?
            .iter()
            .map(|r| r.try_get::<_, String>(0))
            .collect::<Result<_, _>>()?;
        let genres = client
            .query(GENRE_IDS, &[])
            .await?
            .iter()
            .map(|r| Ok((r.try_get::<_, String>(1)?, r.try_get::<_, i32>(0)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?;
        Ok(Self { countries, genres })
    }

    pub fn has_country(&self, code: &str) -> bool {
        self.countries.contains(code)
    }

    pub fn genre_id(&self, name: &str) -> Option<i32> {
        self.genres.get(name).copied()
    }
}
