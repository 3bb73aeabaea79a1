use crate::helpers::TestApp;

#[tokio::test]
async fn list_genres_returns_every_genre_ordered_by_name() {
    let app = TestApp::spawn().await;
    let r = app.get("/genre").await;
    assert_eq!(r.status, 200);
    let list = r.json();
    let genres = list.as_array().cloned().unwrap_or_default();
    assert_eq!(genres.len(), 40);
    let names: Vec<&str> = genres.iter().filter_map(|g| g["name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(genres.iter().all(|g| g["id"].is_i64()));
    assert_eq!(genres[0], serde_json::json!({"id": 1, "name": "Adventure"}));
}

#[tokio::test]
async fn list_countries_returns_every_country_ordered_by_code() {
    let app = TestApp::spawn().await;
    let r = app.get("/country").await;
    assert_eq!(r.status, 200);
    let list = r.json();
    let countries = list.as_array().cloned().unwrap_or_default();
    assert_eq!(countries.len(), 249);
    let codes: Vec<&str> = countries
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted);
    assert_eq!(
        countries[0],
        serde_json::json!({"code": "AD", "name": "Andorra"})
    );
}
