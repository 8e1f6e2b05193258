// A Java web application signing people in with OpenID Connect, with the JDK alone (no Maven, no
// servlet container, no OIDC library): each step a relying party takes, written out. Run it with
// the JDK's single-file launcher (Java 17+):
//
//   OIDC_ISSUER=http://127.0.0.1:8080/t/main OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=... \
//   APP_URL=http://127.0.0.1:9100 java client-examples/java-oidc/OidcApp.java
//
// OIDC_ISSUER is the provider's issuer (the rest comes from its discovery document); the client
// (`idp client add --type web`, docs/guides/java.md) registers {APP_URL}/callback as redirect URI,
// {APP_URL}/ as post-logout redirect URI and {APP_URL}/backchannel-logout for back-channel logout.
// The application listens on APP_URL's port, on 127.0.0.1.
//
// GET  /                    signed in: `user=<sub>`, `name=<name>`, `acr=<acr>` (text/plain);
//                           otherwise a redirect to the authorization endpoint (code flow + PKCE)
// GET  /callback            state and iss checked, code exchanged, ID token verified, UserInfo read
// GET  /logout              the local session ends; then RP-Initiated Logout at the provider
// POST /backchannel-logout  Back-Channel Logout 1.0: a verified logout token ends local sessions
//
// Specifications cited: OpenID Connect Core 1.0 (Core), Discovery 1.0, RP-Initiated Logout 1.0,
// Back-Channel Logout 1.0 (BCL); RFC 6749 (OAuth 2.0), 7636 (PKCE), 9207 (iss), 7515 (JWS),
// 7517 (JWK), 7518 (JWA), 8037 (EdDSA). Sessions live in memory: it is an example.

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.*;
import java.net.http.*;
import java.security.*;
import java.security.spec.*;
import java.time.Duration;
import java.time.Instant;
import java.util.*;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

public final class OidcApp {
    static final String BCL_EVENT = "http://schemas.openid.net/event/backchannel-logout";
    static final long LEEWAY = 60; // seconds of clock difference tolerated in exp and iat
    static final Duration LIFETIME = Duration.ofHours(8), PENDING = Duration.ofMinutes(10);
    static final int MAX_SESSIONS = 100_000, MAX_BODY = 64 * 1024;

    /** A local session: first a sign-in under way (state, nonce, verifier), then a signed-in person. */
    static final class Session {
        final Instant started = Instant.now();
        String state, nonce, verifier; // between GET / and /callback
        String sub, name, acr, sid, idToken; // once signed in (the ID token only for id_token_hint)
        boolean signedIn() { return sub != null; }
        boolean expired() { return Instant.now().isAfter(started.plus(signedIn() ? LIFETIME : PENDING)); }
    }

    /** A refusal: its message is shown to the person (never a token or a secret). */
    @SuppressWarnings("serial")
    static final class Refused extends Exception {
        final int status;
        Refused(int status, String message) { super(message); this.status = status; }
    }

    final String issuer, clientId, clientSecret, appUrl, cookie, cookieFlags;
    final int port;
    final Map<String, Object> meta; // the discovery document
    final Map<String, Session> sessions = new ConcurrentHashMap<>(); // cookie value -> session
    final Map<String, Long> seenJti = new ConcurrentHashMap<>(); // logout token ids (BCL §2.6 step 8)
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build(); // no redirects
    final SecureRandom random = new SecureRandom();
    volatile List<?> jwks = List.of();
    volatile long jwksFetched; // when (ms) the JWKS was last fetched

    OidcApp(String issuer, String clientId, String clientSecret, String appUrl) throws Exception {
        this.issuer = issuer;
        this.clientId = clientId;
        this.clientSecret = clientSecret;
        this.appUrl = appUrl.replaceAll("/+$", "");
        URI url = URI.create(this.appUrl);
        boolean https = "https".equals(url.getScheme());
        this.port = url.getPort() != -1 ? url.getPort() : https ? 443 : 80;
        // cookies do not keep ports apart (RFC 6265 §8.5): the port in the name lets several
        // applications share a host. Over https: Secure, and __Host- (host-only, Path=/)
        this.cookie = (https ? "__Host-" : "") + "OIDCAPP-" + port;
        this.cookieFlags = "; Path=/; HttpOnly; SameSite=Lax" + (https ? "; Secure" : "");
        // Discovery §4: the document lives under the issuer; §4.3: its `issuer` must be exactly
        // the one asked about (else a document of another provider could be passed off as this one)
        String wellKnown = issuer.replaceAll("/+$", "") + "/.well-known/openid-configuration";
        HttpResponse<String> res = send(HttpRequest.newBuilder(URI.create(wellKnown)).GET());
        if (res.statusCode() != 200) throw new IllegalStateException(wellKnown + " answered HTTP " + res.statusCode());
        this.meta = parseObject(res.body());
        if (!issuer.equals(meta.get("issuer"))) {
            throw new IllegalStateException("discovery names the issuer " + meta.get("issuer") + ", not " + issuer);
        }
        for (String k : List.of("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")) {
            if (!(meta.get(k) instanceof String)) throw new IllegalStateException("discovery has no " + k);
        }
    }

    public static void main(String[] args) throws IOException {
        OidcApp app = null;
        try {
            app = new OidcApp(env("OIDC_ISSUER"), env("OIDC_CLIENT_ID"), env("OIDC_CLIENT_SECRET"), env("APP_URL"));
        } catch (Exception e) {
            exit(1, "cannot start: " + e); // e.g. the provider is not reachable
        }
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", app.port), 0);
        server.createContext("/", app::handle);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.start();
        System.out.println("listening on " + app.appUrl + " for issuer " + app.issuer);
    }

    static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isBlank()) exit(2, "missing environment variable " + name);
        return v.trim();
    }

    static void exit(int status, String message) {
        System.err.println(message);
        System.exit(status);
    }

    void handle(HttpExchange ex) {
        try (ex) {
            String path = ex.getRequestURI().getPath(), route = ex.getRequestMethod() + " " + path;
            try {
                switch (route) {
                    case "GET /" -> home(ex);
                    case "GET /callback" -> callback(ex, form(ex.getRequestURI().getRawQuery()));
                    case "GET /logout" -> logout(ex);
                    case "POST /backchannel-logout" -> backchannelLogout(ex);
                    default -> throw new Refused(
                            List.of("/", "/callback", "/logout", "/backchannel-logout").contains(path) ? 405 : 404,
                            route + ": not here");
                }
            } catch (Refused r) {
                text(ex, r.status, r.getMessage() + "\n");
            } catch (GeneralSecurityException e) {
                text(ex, 400, "the token could not be verified: " + e.getClass().getSimpleName() + "\n");
            } catch (IOException | InterruptedException e) {
                System.err.println("the provider could not be reached: " + e);
                text(ex, 502, "the provider could not be reached\n");
            } catch (Exception e) {
                System.err.println("request failed: " + e);
                text(ex, 500, "internal error\n");
            }
        } catch (IOException e) {
            System.err.println("could not answer: " + e);
        }
    }

    /** Signed in: who. Otherwise Core §3.1.2.1: the authorization request, with PKCE (RFC 7636). */
    void home(HttpExchange ex) throws Exception {
        Session s = current(ex);
        if (s != null && s.signedIn()) {
            text(ex, 200, "user=" + s.sub + "\nname=" + s.name + "\nacr=" + s.acr + "\n");
            return;
        }
        Session pending = new Session();
        pending.state = randomToken(); // RFC 6749 §10.12: ties the response to this browser
        pending.nonce = randomToken(); // Core §3.1.2.1: ties the ID token to this sign-in
        pending.verifier = randomToken(); // RFC 7636 §4.1: 43 characters from 32 random bytes
        String challenge = b64(MessageDigest.getInstance("SHA-256").digest(pending.verifier.getBytes(US_ASCII)));
        ex.getResponseHeaders().add("Set-Cookie", cookie + "=" + store(pending) + "; Max-Age=600" + cookieFlags);
        redirect(ex, withQuery((String) meta.get("authorization_endpoint"), Map.of(
                "response_type", "code", "client_id", clientId, "redirect_uri", appUrl + "/callback",
                "scope", "openid profile", "state", pending.state, "nonce", pending.nonce,
                "code_challenge", challenge, "code_challenge_method", "S256"))); // RFC 7636 §4.2-4.3
    }

    /** Core §3.1.2.5-7 and §3.1.3: the authorization response, the token request, the ID token. */
    void callback(HttpExchange ex, Map<String, String> q) throws Exception {
        String sessionId = cookieValue(ex);
        Session pending = sessionId == null ? null : sessions.remove(sessionId); // used once only
        check(pending != null && pending.state != null && !pending.expired(), 400,
                "no sign-in was started in this browser (or it took too long): open / again");
        check(MessageDigest.isEqual(pending.state.getBytes(UTF_8), q.getOrDefault("state", "").getBytes(UTF_8)),
                400, "the state does not match this browser's sign-in");
        // RFC 9207 §2.4: the response names its issuer (and must, when discovery says it does)
        String iss = q.get("iss");
        boolean issRequired = Boolean.TRUE.equals(meta.get("authorization_response_iss_parameter_supported"));
        check(iss != null ? iss.equals(issuer) : !issRequired, 400,
                "the authorization response does not name this issuer (RFC 9207)");
        check(!q.containsKey("error"), 403, "the provider refused the sign-in: " + q.get("error"));
        String code = q.get("code");
        check(code != null && !code.isEmpty(), 400, "no code in the callback");

        // Core §3.1.3.1: the token request, with client_secret_basic (RFC 6749 §2.3.1: id and
        // secret are form-encoded before base64) and the PKCE verifier (RFC 7636 §4.5)
        String basic = Base64.getEncoder().encodeToString((enc(clientId) + ":" + enc(clientSecret)).getBytes(UTF_8));
        HttpResponse<String> res = send(HttpRequest.newBuilder(URI.create((String) meta.get("token_endpoint")))
                .header("Authorization", "Basic " + basic)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(query(Map.of("grant_type", "authorization_code",
                        "code", code, "redirect_uri", appUrl + "/callback", "code_verifier", pending.verifier)))));
        Map<String, Object> tokens = parseObject(res.body());
        check(res.statusCode() == 200, 403, "the token endpoint refused the code: "
                + tokens.getOrDefault("error", "HTTP " + res.statusCode()));
        String idToken = string(tokens, "id_token"), accessToken = string(tokens, "access_token");
        check(idToken != null && accessToken != null && "bearer".equalsIgnoreCase(string(tokens, "token_type")),
                400, "the token response lacks an ID token or a bearer access token");

        // Core §3.1.3.7: the ID token, verified in full
        Map<String, Object> claims = verifyJwt(idToken); // steps 6-8: the signature, by the key's algorithm
        checkIssuerAndAudience(claims); // steps 2-5
        long now = Instant.now().getEpochSecond();
        check(number(claims, "exp") + LEEWAY >= now, 400, "the ID token has expired"); // step 9
        check(number(claims, "iat") <= now + LEEWAY, 400, "the ID token was issued in the future"); // step 10
        check(pending.nonce.equals(claims.get("nonce")), 400, "the ID token's nonce is not this sign-in's"); // step 11
        String sub = string(claims, "sub");
        check(sub != null && !sub.isEmpty(), 400, "the ID token has no sub");

        // Core §5.3: UserInfo with the access token; §5.3.2: its sub must be the ID token's
        res = send(HttpRequest.newBuilder(URI.create((String) meta.get("userinfo_endpoint")))
                .header("Authorization", "Bearer " + accessToken).header("Accept", "application/json").GET());
        Map<String, Object> info = parseObject(res.body());
        check(res.statusCode() == 200 && sub.equals(info.get("sub")), 403,
                "UserInfo refused the access token or names another person");

        // a new session id at sign-in (never the one the browser brought: no session fixation)
        Session s = new Session();
        s.sub = sub;
        s.name = Objects.requireNonNullElse(string(info, "name"), "");
        s.acr = Objects.requireNonNullElse(string(claims, "acr"), "");
        s.sid = string(claims, "sid"); // BCL §2.1: the provider's session, named in logout tokens
        s.idToken = idToken;
        ex.getResponseHeaders().add("Set-Cookie", cookie + "=" + store(s) + cookieFlags);
        redirect(ex, appUrl + "/");
    }

    /** RP-Initiated Logout 1.0 §2: end our session, then send the browser to the provider's. */
    void logout(HttpExchange ex) throws IOException {
        String id = cookieValue(ex);
        Session s = id == null ? null : sessions.remove(id);
        ex.getResponseHeaders().add("Set-Cookie", cookie + "=; Max-Age=0" + cookieFlags);
        if (!(meta.get("end_session_endpoint") instanceof String end)) {
            redirect(ex, appUrl + "/");
            return;
        }
        // id_token_hint tells the provider which session and client ask (it signs out without
        // asking); without one (no local session any more) it asks the person first
        Map<String, String> params = new HashMap<>(Map.of("post_logout_redirect_uri", appUrl + "/",
                "client_id", clientId));
        if (s != null && s.signedIn()) params.put("id_token_hint", s.idToken);
        redirect(ex, withQuery(end, params));
    }

    /** BCL §2.5-2.8: the provider POSTs a logout token; the sessions it names end here. */
    void backchannelLogout(HttpExchange ex) throws Exception {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        check(type != null && type.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded"),
                400, "expected a form");
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(MAX_BODY + 1);
        }
        String token = body.length > MAX_BODY ? null : form(new String(body, UTF_8)).get("logout_token");
        check(token != null, 400, "no logout_token");
        // §2.6: verified as an ID token is (signature, iss, aud, iat), then the logout claims
        Map<String, Object> claims = verifyJwt(token);
        checkIssuerAndAudience(claims);
        long now = Instant.now().getEpochSecond();
        check(number(claims, "iat") <= now + LEEWAY, 400, "the logout token was issued in the future");
        check(!(claims.get("exp") instanceof Number exp) || exp.longValue() + LEEWAY >= now, 400, "expired");
        check(claims.get("events") instanceof Map<?, ?> events && events.get(BCL_EVENT) instanceof Map,
                400, "not a back-channel logout event");
        check(!claims.containsKey("nonce"), 400, "a logout token has no nonce (is this an ID token?)");
        String sid = string(claims, "sid"), sub = string(claims, "sub");
        check(sid != null || sub != null, 400, "neither sid nor sub");
        // step 8 (optional): each logout token is used once
        if (claims.get("jti") instanceof String jti) {
            seenJti.values().removeIf(t -> t < now - 600);
            check(seenJti.putIfAbsent(jti, now) == null, 400, "logout token replayed");
        }
        // §2.7: with sid, the local sessions of that provider session; with sub alone, the person's
        sessions.values().removeIf(s -> s.signedIn() && (sid != null ? sid.equals(s.sid) : sub.equals(s.sub)));
        text(ex, 200, ""); // §2.8: 200, and Cache-Control: no-store (as every answer here)
    }

    /** Core §3.1.3.7 steps 2-5 (BCL §2.6 step 3): our issuer, our client among the audience. */
    void checkIssuerAndAudience(Map<String, Object> c) throws Refused {
        check(issuer.equals(c.get("iss")), 400, "the token comes from another issuer");
        List<?> aud = c.get("aud") instanceof List<?> l ? l : Collections.singletonList(c.get("aud"));
        check(aud.contains(clientId), 400, "the token is not for this client");
        // several audiences need an azp; an azp, when present, must be this client
        check(c.containsKey("azp") ? clientId.equals(c.get("azp")) : aud.size() == 1,
                400, "the token was issued to another party (azp)");
    }

    /** RFC 7515 §5.2: a compact JWS verified with a key of the provider's JWKS; its claims. */
    Map<String, Object> verifyJwt(String jwt) throws Exception {
        String[] parts = jwt.split("\\.", -1);
        check(parts.length == 3, 400, "not a signed JWT");
        Map<String, Object> header = parseObject(new String(unb64(parts[0]), UTF_8));
        check(!header.containsKey("crit"), 400, "the token has critical extensions"); // §4.1.11
        String alg = string(header, "alg"), kid = string(header, "kid");
        check(alg != null && kid != null, 400, "the token names no algorithm or key");
        Map<String, Object> jwk = key(kid);
        // the token's alg must fit the key it names (RFC 7517 §4.4): never `none`, nor HMAC
        // with a public key as its secret
        String kty = String.valueOf(jwk.get("kty"));
        boolean fits = switch (alg) {
            case "ES256" -> kty.equals("EC");
            case "RS256", "PS256" -> kty.equals("RSA");
            case "EdDSA" -> kty.equals("OKP");
            default -> false;
        };
        fits = fits && alg.equals(jwk.getOrDefault("alg", alg)) && "sig".equals(jwk.getOrDefault("use", "sig"));
        check(fits, 400, "the token's algorithm " + alg + " does not fit its key");
        Signature sig = switch (alg) {
            // RFC 7518 §3.4: JOSE sends r||s (64 bytes), not the DER SEQUENCE that plain
            // SHA256withECDSA expects; the JDK's P1363 variant takes r||s as it is
            case "ES256" -> Signature.getInstance("SHA256withECDSAinP1363Format");
            case "RS256" -> Signature.getInstance("SHA256withRSA"); // §3.3: PKCS #1 v1.5
            case "PS256" -> { // §3.5: PSS with SHA-256, MGF1 with SHA-256, a 32-byte salt
                Signature s = Signature.getInstance("RSASSA-PSS");
                s.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
                yield s;
            }
            default -> Signature.getInstance("Ed25519"); // RFC 8037 §3.1
        };
        sig.initVerify(publicKey(jwk));
        sig.update((parts[0] + "." + parts[1]).getBytes(US_ASCII));
        boolean valid;
        try {
            valid = sig.verify(unb64(parts[2]));
        } catch (SignatureException e) {
            valid = false; // a malformed signature
        }
        check(valid, 400, "the token's signature is not the provider's");
        return parseObject(new String(unb64(parts[1]), UTF_8));
    }

    /** The JWK named `kid`; an unknown one fetches the JWKS again (keys rotate), at most every 30 s. */
    Map<String, Object> key(String kid) throws Exception {
        for (int attempt = 0; attempt < 2; attempt++) {
            for (Object k : jwks) {
                if (k instanceof Map<?, ?> m && kid.equals(m.get("kid"))) return obj(m);
            }
            if (attempt == 0 && System.currentTimeMillis() - jwksFetched > 30_000) {
                jwksFetched = System.currentTimeMillis(); // anyone can POST a token naming some kid
                URI jwksUri = URI.create((String) meta.get("jwks_uri"));
                HttpResponse<String> res = send(HttpRequest.newBuilder(jwksUri).GET());
                if (res.statusCode() == 200 && parseObject(res.body()).get("keys") instanceof List<?> keys) jwks = keys;
            }
        }
        throw new Refused(400, "the token is signed by a key the provider does not publish");
    }

    /** RFC 7518 §6.2 (EC P-256), §6.3 (RSA), RFC 8037 §2 (OKP Ed25519): the JWK as a Java key. */
    static PublicKey publicKey(Map<String, Object> jwk) throws Exception {
        switch (String.valueOf(jwk.get("kty"))) {
            case "EC" -> {
                check("P-256".equals(jwk.get("crv")), 400, "unsupported EC curve");
                AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
                p.init(new ECGenParameterSpec("secp256r1"));
                ECPoint w = new ECPoint(uint(jwk, "x"), uint(jwk, "y"));
                return KeyFactory.getInstance("EC").generatePublic(
                        new ECPublicKeySpec(w, p.getParameterSpec(ECParameterSpec.class)));
            }
            case "RSA" -> {
                BigInteger n = uint(jwk, "n");
                check(n.bitLength() >= 2048, 400, "RSA key too short");
                return KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(n, uint(jwk, "e")));
            }
            case "OKP" -> {
                byte[] x = unb64(String.valueOf(jwk.get("x")));
                check("Ed25519".equals(jwk.get("crv")) && x.length == 32, 400, "unsupported OKP key");
                // the raw key inside a SubjectPublicKeyInfo (RFC 8410 §4): a fixed 12-byte prefix
                byte[] spki = HexFormat.of().parseHex("302a300506032b6570032100" + HexFormat.of().formatHex(x));
                return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
            }
            default -> throw new Refused(400, "unsupported key type");
        }
    }

    static BigInteger uint(Map<String, Object> jwk, String name) throws Refused {
        String v = string(jwk, name);
        check(v != null, 400, "the key has no " + name);
        return new BigInteger(1, unb64(v));
    }

    // ---- sessions and cookies ----

    String store(Session s) {
        if (sessions.size() >= MAX_SESSIONS) sessions.values().removeIf(Session::expired);
        String id = randomToken();
        sessions.put(id, s);
        return id;
    }

    Session current(HttpExchange ex) {
        String id = cookieValue(ex);
        Session s = id == null ? null : sessions.get(id);
        if (s != null && s.expired()) sessions.remove(id);
        return s == null || s.expired() ? null : s;
    }

    String cookieValue(HttpExchange ex) {
        for (String header : ex.getRequestHeaders().getOrDefault("Cookie", List.of())) {
            for (String c : header.split(";")) {
                String[] kv = c.trim().split("=", 2);
                if (kv.length == 2 && kv[0].equals(cookie) && !kv[1].isEmpty()) return kv[1];
            }
        }
        return null;
    }

    // ---- small helpers ----

    static void check(boolean ok, int status, String message) throws Refused {
        if (!ok) throw new Refused(status, message);
    }

    static String string(Map<String, Object> m, String name) {
        return m.get(name) instanceof String s ? s : null;
    }

    static long number(Map<String, Object> m, String name) throws Refused {
        check(m.get(name) instanceof Number, 400, "the token has no " + name);
        return ((Number) m.get(name)).longValue();
    }

    HttpResponse<String> send(HttpRequest.Builder req) throws IOException, InterruptedException {
        return http.send(req.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    String randomToken() { // 32 random bytes, base64url: 43 characters
        byte[] b = new byte[32];
        random.nextBytes(b);
        return b64(b);
    }

    static String b64(byte[] b) { return Base64.getUrlEncoder().withoutPadding().encodeToString(b); }

    static byte[] unb64(String s) throws Refused {
        try {
            if (s.contains("=")) throw new IllegalArgumentException(); // JOSE base64url has no padding
            return Base64.getUrlDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new Refused(400, "malformed base64url");
        }
    }

    static Map<String, Object> parseObject(String json) throws Refused {
        try {
            return obj(new Json(json).document());
        } catch (IllegalArgumentException e) {
            throw new Refused(400, "expected a JSON object");
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> obj(Object o) {
        if (o instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new IllegalArgumentException("not a JSON object");
    }

    static Map<String, String> form(String raw) {
        Map<String, String> out = new HashMap<>();
        for (String pair : raw == null || raw.isEmpty() ? new String[0] : raw.split("&")) {
            String[] kv = pair.split("=", 2);
            out.putIfAbsent(URLDecoder.decode(kv[0], UTF_8), kv.length == 2 ? URLDecoder.decode(kv[1], UTF_8) : "");
        }
        return out;
    }

    static String query(Map<String, String> params) {
        StringJoiner j = new StringJoiner("&");
        new TreeMap<>(params).forEach((k, v) -> j.add(enc(k) + "=" + enc(v)));
        return j.toString();
    }

    static String withQuery(String endpoint, Map<String, String> params) {
        return endpoint + (endpoint.contains("?") ? "&" : "?") + query(params);
    }

    static String enc(String s) { return URLEncoder.encode(s, UTF_8).replace("+", "%20"); }

    static void redirect(HttpExchange ex, String to) throws IOException {
        ex.getResponseHeaders().add("Location", to);
        ex.getResponseHeaders().add("Cache-Control", "no-store");
        ex.sendResponseHeaders(303, -1);
    }

    static void text(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(UTF_8);
        ex.getResponseHeaders().add("Content-Type", "text/plain; charset=utf-8");
        ex.getResponseHeaders().add("Cache-Control", "no-store");
        ex.getResponseHeaders().add("X-Content-Type-Options", "nosniff");
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        ex.getResponseBody().write(bytes);
    }

    /** A small JSON reader (RFC 8259): objects as Map, arrays as List, numbers as Long or Double. */
    static final class Json {
        final String s;
        int i;
        Json(String s) { this.s = s; }

        Object document() {
            Object v = value(0);
            ws();
            if (i != s.length()) throw error();
            return v;
        }

        Object value(int depth) {
            ws();
            if (depth > 32 || i >= s.length()) throw error();
            char c = s.charAt(i);
            if (c == '{' || c == '[') {
                i++;
                boolean object = c == '{';
                Map<String, Object> m = new LinkedHashMap<>();
                List<Object> l = new ArrayList<>();
                ws();
                if (!eat(object ? '}' : ']')) {
                    do {
                        if (!object) { l.add(value(depth + 1)); ws(); continue; }
                        ws();
                        String k = string();
                        ws();
                        if (!eat(':') || m.put(k, value(depth + 1)) != null) throw error(); // no duplicate names
                        ws();
                    } while (eat(','));
                    if (!eat(object ? '}' : ']')) throw error();
                }
                return object ? m : l;
            }
            if (c == '"') return string();
            for (String lit : new String[] {"true", "false", "null"}) {
                if (s.startsWith(lit, i)) {
                    i += lit.length();
                    return lit.equals("null") ? null : Boolean.valueOf(lit.equals("true"));
                }
            }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            String n = s.substring(start, i);
            if (!n.matches("-?(0|[1-9]\\d*)(\\.\\d+)?([eE][+-]?\\d+)?")) throw error();
            return n.matches("-?\\d{1,18}") ? (Object) Long.parseLong(n) : (Object) Double.parseDouble(n);
        }

        String string() {
            if (!eat('"')) throw error();
            StringBuilder b = new StringBuilder();
            while (i < s.length()) {
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c < 0x20 || (c == '\\' && i >= s.length())) throw error();
                if (c != '\\') { b.append(c); continue; }
                char e = s.charAt(i++);
                int at = "\"\\/bfnrt".indexOf(e);
                if (at >= 0) {
                    b.append("\"\\/\b\f\n\r\t".charAt(at));
                } else if (e == 'u' && i + 4 <= s.length() && s.substring(i, i + 4).matches("[0-9a-fA-F]{4}")) {
                    b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                    i += 4;
                } else {
                    throw error();
                }
            }
            throw error();
        }

        void ws() { while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++; }
        boolean eat(char c) { return i < s.length() && s.charAt(i) == c && ++i > 0; }
        IllegalArgumentException error() { return new IllegalArgumentException("invalid JSON at " + i); }
    }
}
