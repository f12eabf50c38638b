//! The HTTP listener's operator endpoints.

use crate::helpers::spawn_app;

#[tokio::test]
async fn robots_txt_allows_the_feeds_and_nothing_else() {
    let app = spawn_app().await;
    let r = reqwest::get(format!("{}/robots.txt", app.http_base)).await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("Allow: /feeds/"), "{body}");
    assert!(body.contains("Disallow: /"), "{body}");
    let health = reqwest::get(format!("{}/healthz", app.http_base)).await.unwrap();
    assert_eq!(health.status(), 200);
    let missing = reqwest::get(format!("{}/nothing-here", app.http_base)).await.unwrap();
    assert_eq!(missing.status(), 404);
}
