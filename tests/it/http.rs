//! The HTTP listener's operator endpoints.

use crate::helpers::spawn_app;

#[tokio::test]
async fn robots_txt_allows_the_pages_and_feeds_and_nothing_else() {
    let app = spawn_app().await;
    let r = reqwest::get(format!("{}/robots.txt", app.http_base)).await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    for allowed in ["Allow: /$\n", "Allow: /sessions/\n", "Allow: /people/\n", "Allow: /assets/\n", "Allow: /feeds/\n"]
    {
        assert!(body.contains(allowed), "{body}");
    }
    assert!(body.ends_with("Disallow: /\n"), "{body}");
    let health = reqwest::get(format!("{}/healthz", app.http_base)).await.unwrap();
    assert_eq!(health.status(), 200);
    let missing = reqwest::get(format!("{}/nothing-here", app.http_base)).await.unwrap();
    assert_eq!(missing.status(), 404);
}
