//! A person at the status page, over real HTTP: logs in with the login form (its own CSRF
//! cookie), keeps the session cookie, and posts forms with the CSRF token the page gave.

use std::time::Duration;

/// A browser-like client of picket's page.
pub struct PageClient {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    client: reqwest::Client,
    /// `picket_session=…`, once logged in.
    pub session: String,
    /// The session's CSRF token, read from a page.
    pub csrf: String,
}

/// A page's answer: status, headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    /// Where a redirect points.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// The value of the first `name="csrf" value="…"` of a page.
pub fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// The `name=value` of a Set-Cookie header named `name`.
fn cookie_of(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

impl PageClient {
    /// A client of the page on `port`, not logged in.
    pub fn new(port: u16) -> PageClient {
        PageClient {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .tls_backend_preconfigured(
                    picket::channels::tls::client_config(None, "ca").unwrap(),
                )
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            session: String::new(),
            csrf: String::new(),
        }
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Logs in; the answer to the login form.
    pub async fn login(&mut self, name: &str, password: &str) -> Answer {
        let page = self
            .client
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let login_cookie = cookie_of(page.headers(), "picket_login").expect("login cookie");
        let csrf = csrf_of(&page.text().await.unwrap());
        let response = self
            .client
            .post(format!("{}/login", self.base))
            .header("cookie", login_cookie)
            .form(&[("name", name), ("password", password), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        let answer = Self::answer(response).await;
        if let Some(session) = cookie_of(&answer.headers, "picket_session") {
            self.session = session;
            // The session's own token, from its first page.
            let home = self.get("/").await;
            self.csrf = csrf_of(&home.body);
        }
        answer
    }

    /// GETs a path with the session.
    pub async fn get(&self, path: &str) -> Answer {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.session)
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }

    /// POSTs a form with the session and its CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &self.csrf));
        self.post_raw(path, &form).await
    }

    /// POSTs a form as it is (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.session)
            .form(fields)
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }

    /// The open Server-Sent Events stream of the page.
    pub async fn stream(&self) -> reqwest::Response {
        self.client
            .get(format!("{}/stream", self.base))
            .header("cookie", &self.session)
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .unwrap()
    }
}

/// Adds a person with a role, codes and a page password to the journal at `path`.
pub async fn add_person(
    path: &std::path::Path,
    name: &str,
    role: picket::engine::Role,
    code: &str,
    duress: Option<&str>,
    password: &str,
) {
    let journal = picket::journal::Journal::open(path).await.unwrap();
    let by = picket::journal::users::By::cli("test");
    let at = picket::engine::Timestamp(1);
    journal
        .add_user_numbered(name, role, code, duress, None, by, at)
        .await
        .unwrap();
    journal.set_password(name, password, by, at).await.unwrap();
    journal.close().await;
}
