//! The sign-in engine's vocabulary: what a protocol front-end asks of a sign-in, and what the
//! engine decides, with no protocol in sight.
//!
//! A front-end (OpenID Connect's `/authorize` today; CAS's `/login` and SAML's SSO endpoint
//! next; the provider's own account pages) validates its protocol's request, keeps it as a
//! [`FrontRequest`] for its own answer, and hands the engine a [`SignInRequest`]: which party
//! the release goes to, what it asks to receive, the level it needs, whether the sign-in must
//! be fresh (`prompt=login`, CAS `renew`, SAML `ForceAuthn`) or must not show a page
//! (`prompt=none`, CAS `gateway`, SAML `IsPassive`), and the person's language. The engine
//! (`idp-server`'s `http/signin/`) runs the pages — who signs in, with which methods, to
//! which level, in which acting context, with which consent — and ends in one of two ways:
//! [`SignedIn`] (a session and the consented release) or a refusal, an [`OAuthError`] whose
//! code the front-end translates (`login_required`, `interaction_required`,
//! `consent_required`, `access_denied`, `unmet_authentication_requirements`).
//!
//! Every party is registered in the client register, whatever its protocol: its settings
//! (accepted acting contexts, minimum level, real-name level, purposes, statutory duty) are
//! what the pages read, so a CAS service or a SAML service provider is asked for consent,
//! stepped up and offered contexts exactly as an OpenID Connect client is. The rules are in
//! `docs/domain.md` (Assurance levels, Consent).

use serde::{Deserialize, Serialize};

use crate::Env;
use crate::error::OAuthError;
use crate::model::{AuthRequest, Grant, ResponseMode, Session};

/// The reserved party id of the provider's own account pages: first party, never asked for
/// consent, never issued a code. Registered client ids are random tokens, and the
/// authorization endpoint only accepts registered ones, so no client can take this one.
pub const ACCOUNT_PAGES: &str = "account-console";

/// What a front-end asks of the sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRequest {
    /// The party the release goes to (an OIDC client id, a CAS service's or SAML service
    /// provider's registered id): consent is recorded against it.
    pub party: String,
    /// Where the browser goes at the end; the pages may post only there besides themselves.
    pub return_to: String,
    /// What the party asks to receive, as scopes (CAS and SAML front-ends map attributes onto
    /// the scope that releases them).
    pub release: Vec<String>,
    /// A fresh sign-in is required, whatever the session.
    pub force: bool,
    /// No page may be shown: the answer is the session as it is, or a refusal.
    pub passive: bool,
    /// Consent is asked again even if granted before.
    pub ask_consent: bool,
    /// The person chooses the account or acting context again.
    pub select_account: bool,
    /// The longest time since the person last signed in that is acceptable (seconds).
    pub max_age: Option<i64>,
    /// The levels asked for, most preferred first, space-separated (`acr` values).
    pub level: Option<String>,
    /// A level asked for as essential: one that cannot be met ends the sign-in with
    /// `unmet_authentication_requirements`.
    pub essential_level: Option<String>,
    pub login_hint: Option<String>,
    /// The upstream identity provider the party asks the person to sign in with.
    pub upstream_hint: Option<String>,
    /// The person's languages (BCP 47, space-separated, preferred first).
    pub locale: Option<String>,
    /// The provider's own pages: no consent, no release.
    pub first_party: bool,
}

impl SignInRequest {
    /// This request once the person has consented in the interaction: the release narrowed to
    /// what was allowed, and nothing left that would send the person round again.
    pub fn consented(&self, release: Vec<String>) -> Self {
        Self {
            release,
            force: false,
            ask_consent: false,
            select_account: false,
            max_age: None,
            ..self.clone()
        }
    }
}

/// The person is signed in and the release consented: what the front-end answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub account_id: String,
    pub sid: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    /// The consented release (scopes).
    pub release: Vec<String>,
    /// `self`, `staff` or `enterprise`.
    pub act_as: String,
    /// The membership acted through, when not `self`.
    pub context: Option<String>,
    pub consented_at: i64,
    /// The person signed in within this very sign-in (rather than by an earlier session).
    pub new_login: bool,
}

/// What happens next in a sign-in.
#[derive(Debug)]
pub enum Step {
    /// Show the sign-in page.
    Login,
    /// Show the consent page (or what must come before it).
    Consent,
    /// Signed in, but below the level the request needs: add a factor to the session.
    StepUp,
    Done(SignedIn),
    /// End the sign-in; the front-end tells its party why.
    Refuse(OAuthError),
}

/// Decides given the current session (if any), whether it was made in this very interaction,
/// the level the request needs (`policy::required`) and the person's grant for the party.
pub fn decide(
    env: &dyn Env,
    req: &SignInRequest,
    session: Option<&Session>,
    fresh_login: bool,
    required: Option<&str>,
    grant: Option<&Grant>,
) -> Step {
    let Some(session) = session else {
        if req.passive {
            return Step::Refuse(OAuthError::new("login_required", "The person is not signed in."));
        }
        return Step::Login;
    };
    if !fresh_login {
        let too_old = req.max_age.is_some_and(|m| env.now() - session.auth_time > m);
        if too_old || req.force || req.select_account {
            if req.passive {
                return Step::Refuse(OAuthError::new("login_required", "A new sign-in is required."));
            }
            return Step::Login;
        }
    }
    if !crate::policy::satisfies(&session.acr, required) {
        if req.passive {
            return Step::Refuse(OAuthError::new("interaction_required", "A stronger sign-in is required."));
        }
        return Step::StepUp;
    }
    let covered = req.first_party || grant.is_some_and(|g| req.release.iter().all(|s| g.covers(s)));
    if !covered || req.ask_consent {
        if req.passive {
            return Step::Refuse(OAuthError::new("consent_required", "Consent is required."));
        }
        return Step::Consent;
    }
    Step::Done(SignedIn {
        account_id: session.account_id.clone(),
        sid: session.sid.clone(),
        auth_time: session.auth_time,
        acr: session.acr.clone(),
        amr: session.amr.clone(),
        release: req.release.clone(),
        act_as: "self".into(),
        context: None,
        consented_at: env.now(),
        new_login: fresh_login,
    })
}

/// The provider's own pages asking for a sign-in: back to `return_to` once signed in at
/// `level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountReturn {
    pub return_to: String,
    pub level: Option<String>,
}

/// A front-end's own request, kept with the interaction for the front-end's answer.
///
/// Stored as the OpenID Connect request it is (or, for the account pages, as the equivalent
/// request of the reserved [`ACCOUNT_PAGES`] client), so interactions written by an earlier
/// version read the same; a later front-end's form is tagged with its name (`"front":"cas"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Stored", into = "Stored")]
#[allow(clippy::large_enum_variant)] // one per sign-in, borrowed by the pages, never copied in bulk
pub enum FrontRequest {
    Oidc(AuthRequest),
    Account(AccountReturn),
    Cas(crate::cas::CasLogin),
    Saml(crate::saml::SamlLogin),
}

/// The stored forms: a front-end's tagged form, else an OpenID Connect request.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // a conversion step of (de)serialisation only
enum Stored {
    Tagged(Tagged),
    Oidc(AuthRequest),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "front", rename_all = "lowercase")]
enum Tagged {
    Cas(crate::cas::CasLogin),
    Saml(crate::saml::SamlLogin),
}

impl From<Stored> for FrontRequest {
    fn from(s: Stored) -> Self {
        match s {
            Stored::Tagged(Tagged::Cas(c)) => FrontRequest::Cas(c),
            Stored::Tagged(Tagged::Saml(l)) => FrontRequest::Saml(l),
            Stored::Oidc(r) => r.into(),
        }
    }
}

impl From<FrontRequest> for Stored {
    fn from(f: FrontRequest) -> Self {
        match f {
            FrontRequest::Cas(c) => Stored::Tagged(Tagged::Cas(c)),
            FrontRequest::Saml(l) => Stored::Tagged(Tagged::Saml(l)),
            FrontRequest::Oidc(r) => Stored::Oidc(r),
            FrontRequest::Account(a) => Stored::Oidc(account_request(a)),
        }
    }
}

impl FrontRequest {
    /// What this front-end asks of the engine.
    pub fn sign_in(&self) -> SignInRequest {
        match self {
            FrontRequest::Oidc(r) => {
                let prompt = |p: &str| r.prompt.iter().any(|x| x == p);
                SignInRequest {
                    party: r.client_id.clone(),
                    return_to: r.redirect_uri.clone(),
                    release: r.scope.clone(),
                    force: prompt("login"),
                    passive: prompt("none"),
                    ask_consent: prompt("consent"),
                    select_account: prompt("select_account"),
                    max_age: r.max_age,
                    level: r.acr_values.clone(),
                    essential_level: r.claims_acr.clone(),
                    login_hint: r.login_hint.clone(),
                    upstream_hint: r.idp_hint.clone(),
                    locale: r.ui_locales.clone(),
                    first_party: false,
                }
            }
            FrontRequest::Cas(c) => SignInRequest {
                party: c.client_id.clone(),
                return_to: c.service.clone(),
                release: c.release.clone(),
                force: c.renew,
                passive: c.gateway,
                ask_consent: false,
                select_account: false,
                max_age: None,
                level: None,
                essential_level: None,
                login_hint: None,
                upstream_hint: None,
                locale: c.locale.clone(),
                first_party: false,
            },
            FrontRequest::Saml(l) => SignInRequest {
                party: l.client_id.clone(),
                return_to: l.acs.clone(),
                release: l.release.clone(),
                force: l.force,
                passive: l.passive,
                ask_consent: false,
                select_account: false,
                max_age: None,
                level: l.level.clone(),
                // a requested context that cannot be met ends the sign-in (NoAuthnContext)
                essential_level: l.level.clone(),
                login_hint: None,
                upstream_hint: None,
                locale: l.locale.clone(),
                first_party: false,
            },
            FrontRequest::Account(a) => SignInRequest {
                party: ACCOUNT_PAGES.into(),
                return_to: a.return_to.clone(),
                release: vec!["openid".into()],
                force: false,
                passive: false,
                ask_consent: false,
                select_account: false,
                max_age: None,
                level: a.level.clone(),
                essential_level: None,
                login_hint: None,
                upstream_hint: None,
                locale: None,
                first_party: true,
            },
        }
    }
}

impl From<AuthRequest> for FrontRequest {
    fn from(r: AuthRequest) -> Self {
        if r.client_id == ACCOUNT_PAGES {
            FrontRequest::Account(AccountReturn { return_to: r.redirect_uri, level: r.acr_values })
        } else {
            FrontRequest::Oidc(r)
        }
    }
}

/// The account pages' request as the equivalent OpenID Connect request of the reserved
/// [`ACCOUNT_PAGES`] client (their stored form, and how their refusals are answered).
pub fn account_request(a: AccountReturn) -> AuthRequest {
    AuthRequest {
        client_id: ACCOUNT_PAGES.into(),
        redirect_uri: a.return_to,
        response_mode: ResponseMode::Query,
        scope: vec!["openid".into()],
        state: None,
        nonce: None,
        code_challenge: None,
        prompt: vec![],
        max_age: None,
        login_hint: None,
        ui_locales: None,
        claims_locales: None,
        acr_values: a.level,
        claims_acr: None,
        claims: None,
        resource: None,
        idp_hint: None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn an_interaction_stored_by_an_earlier_version_reads_the_same() {
        let account = FrontRequest::Account(AccountReturn {
            return_to: "https://idp/t/x/account".into(),
            level: Some("aal2".into()),
        });
        let json = serde_json::to_string(&account).unwrap();
        // byte for byte what the previous version stored for the account pages
        let stored = r#"{"client_id":"account-console","redirect_uri":"https://idp/t/x/account","#
            .to_string()
            + r#""response_mode":"query","scope":["openid"],"state":null,"nonce":null,"#
            + r#""code_challenge":null,"prompt":[],"max_age":null,"login_hint":null,"#
            + r#""ui_locales":null,"claims_locales":null,"acr_values":"aal2"}"#;
        assert_eq!(json, stored);
        // the stored form is the OpenID Connect request of the reserved client
        let as_oidc: AuthRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(as_oidc.client_id, ACCOUNT_PAGES);
        assert_eq!(as_oidc.acr_values.as_deref(), Some("aal2"));
        assert_eq!(serde_json::from_str::<FrontRequest>(&json).unwrap(), account);
        let ask = account.sign_in();
        assert!(ask.first_party && !ask.passive && ask.level.as_deref() == Some("aal2"));
    }

    #[test]
    fn a_cas_login_is_stored_tagged_and_maps_renew_and_gateway() {
        let cas = FrontRequest::Cas(crate::cas::CasLogin {
            client_id: "c".into(),
            service: "https://app/x".into(),
            release: vec!["openid".into(), "profile".into()],
            renew: true,
            gateway: true,
            post: false,
            locale: None,
        });
        let json = serde_json::to_string(&cas).unwrap();
        assert!(json.starts_with(r#"{"front":"cas","#), "{json}");
        assert_eq!(serde_json::from_str::<FrontRequest>(&json).unwrap(), cas);
        let ask = cas.sign_in();
        assert!(ask.force && ask.passive && !ask.first_party);
        assert_eq!((ask.party.as_str(), ask.return_to.as_str()), ("c", "https://app/x"));
        assert_eq!(ask.release, ["openid", "profile"]);
    }

    #[test]
    fn the_prompt_values_map_onto_the_engine_flags() {
        let FrontRequest::Account(a) =
            FrontRequest::from(account_request(AccountReturn { return_to: "r".into(), level: None }))
        else {
            panic!("the account pages' request round-trips");
        };
        let mut r = account_request(a);
        r.client_id = "c".into();
        r.prompt = vec!["none".into(), "consent".into()];
        let ask = FrontRequest::from(r).sign_in();
        assert!(ask.passive && ask.ask_consent && !ask.force && !ask.select_account && !ask.first_party);
        assert_eq!(ask.party, "c");
        let done = ask.consented(vec!["openid".into()]);
        assert!(!done.ask_consent && done.passive && done.release == ["openid"]);
    }

    /// A session signed in with a password just now.
    pub(crate) fn session(env: &crate::TestEnv) -> Session {
        Session {
            id_hash: "h".into(),
            sid: "sid".into(),
            tenant_id: "t".into(),
            account_id: "a".into(),
            auth_time: env.now(),
            amr: vec!["pwd".into()],
            acr: "aal1".into(),
            min_acr: None,
            act_context: None,
            created_at: env.now(),
            last_seen: env.now(),
            expires_at: env.now() + 100,
        }
    }

    fn ask(party: &str) -> SignInRequest {
        let mut r = account_request(AccountReturn { return_to: "r".into(), level: None });
        r.client_id = party.into();
        FrontRequest::from(r).sign_in()
    }

    #[test]
    fn a_passive_request_is_refused_where_a_page_would_be_shown() {
        let env = crate::TestEnv::default();
        let s = session(&env);
        let passive = SignInRequest { passive: true, ..ask("c") };
        let code = |step: Step| match step {
            Step::Refuse(e) => e.code,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(code(decide(&env, &passive, None, false, None, None)), "login_required");
        let forced = SignInRequest { force: true, ..passive.clone() };
        assert_eq!(code(decide(&env, &forced, Some(&s), false, None, None)), "login_required");
        assert_eq!(code(decide(&env, &passive, Some(&s), false, Some("aal2"), None)), "interaction_required");
        assert_eq!(code(decide(&env, &passive, Some(&s), false, None, None)), "consent_required");
        // the same requests, pages allowed
        assert!(matches!(decide(&env, &ask("c"), None, false, None, None), Step::Login));
        let forced = SignInRequest { force: true, ..ask("c") };
        assert!(matches!(decide(&env, &forced, Some(&s), false, None, None), Step::Login));
        // a sign-in made in this very interaction satisfies `force`
        assert!(matches!(decide(&env, &forced, Some(&s), true, None, None), Step::Consent));
        assert!(matches!(decide(&env, &ask("c"), Some(&s), false, Some("aal2"), None), Step::StepUp));
    }

    #[test]
    fn the_account_pages_need_no_consent_and_a_grant_releases_what_it_covers() {
        let env = crate::TestEnv::default();
        let s = session(&env);
        let account = FrontRequest::Account(AccountReturn { return_to: "r".into(), level: None }).sign_in();
        let Step::Done(done) = decide(&env, &account, Some(&s), false, None, None) else {
            panic!("the account pages are first party");
        };
        assert_eq!((done.account_id.as_str(), done.sid.as_str(), done.act_as.as_str()), ("a", "sid", "self"));
        let grant = Grant {
            tenant_id: "t".into(),
            account_id: "a".into(),
            client_id: "c".into(),
            scopes: vec!["openid".into()],
            created_at: env.now(),
            updated_at: env.now(),
        };
        let Step::Done(done) = decide(&env, &ask("c"), Some(&s), false, None, Some(&grant)) else {
            panic!("the grant covers the request");
        };
        assert_eq!(done.release, ["openid"]);
        let again = SignInRequest { ask_consent: true, ..ask("c") };
        assert!(matches!(decide(&env, &again, Some(&s), false, None, Some(&grant)), Step::Consent));
    }
}
