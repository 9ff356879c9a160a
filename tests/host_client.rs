//! A host platform hands its own HTTP client to `connect_with`, and every request goes through
//! it: its user agent (standing for its pool, TLS roots and proxy) is on the wire.

use futures::TryStreamExt;
use orderport::{connect_with, pages, HttpClient, StoresFile, TimeWindow};
use wiremock::matchers::header;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn connect_with_sends_through_the_host_client() {
    let server = MockServer::start().await;
    Mock::given(header("user-agent", "host-platform/3.1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<Orders pages=\"0\"/>"))
        .expect(1)
        .mount(&server)
        .await;
    let file = StoresFile::parse(
        &format!(
            "[[store]]\nid = \"s\"\nname = \"S\"\nchannel = \"spark-shipping\"\n\
             url = \"{}/shipstation\"\nusername = \"u\"\npassword = \"p\"\n",
            server.uri()
        ),
        &|_| None,
    )
    .unwrap();
    let client = orderport::http::client_builder()
        .user_agent("host-platform/3.1")
        .build()
        .unwrap();
    let channel = connect_with(&file.stores[0], &HttpClient::from_reqwest(client)).unwrap();
    let window = TimeWindow::new(
        "2026-03-01T00:00:00Z".parse().unwrap(),
        "2026-03-02T00:00:00Z".parse().unwrap(),
    )
    .unwrap();
    let walked: Vec<_> = pages(channel.as_ref(), window).try_collect().await.unwrap();
    assert_eq!(walked.len(), 1);
    assert!(walked[0].outcomes.is_empty());
}
