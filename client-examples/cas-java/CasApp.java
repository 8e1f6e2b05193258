// A Java web application protected by the provider's CAS 3.0 server, with the JDK alone (no
// Maven, no servlet container): what a department's Java system does at sign-in, written out so
// that each protocol step is visible. Run it with the JDK's single-file launcher (Java 17+):
//
//   CAS_BASE=http://127.0.0.1:8080/t/main SERVICE_URL=http://127.0.0.1:8091/app \
//     java client-examples/cas-java/CasApp.java
//
// Environment:
//   CAS_BASE         the provider's tenant URL (the CAS server lives under {CAS_BASE}/cas/)
//   SERVICE_URL      this application's URL as registered with `idp cas-service add --service`;
//                    the application listens on its port, on 127.0.0.1
//   CAS_LOGOUT_FROM  optional: the provider's addresses (comma-separated), the only senders of
//                    single-logout messages obeyed; any sender otherwise
//
// GET {SERVICE_URL}           signed in: `user=<id>` and `attr:<name>=<value>` lines (text/plain);
//                             not signed in: a redirect to {CAS_BASE}/cas/login?service=...
// GET {SERVICE_URL}?ticket=ST-...
//                             validates the ticket at /cas/p3/serviceValidate (only in a browser
//                             that started the sign-in here), opens a new session (an HttpOnly
//                             cookie; Secure and __Host- over https; 8 h at most, 30 min idle)
//                             and redirects to SERVICE_URL without the ticket
// GET {SERVICE_URL}?logout    ends the local session and sends the browser to /cas/logout
// POST {SERVICE_URL} logoutRequest=<samlp:LogoutRequest>
//                             the provider's single logout: ends the session opened by the
//                             ticket named in <samlp:SessionIndex>
//
// Production Java systems usually use Apereo's CAS client (a servlet filter configured in
// web.xml); see client-examples/cas-README.md for its configuration against this provider.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

public final class CasApp {
    static final String CAS_NS = "http://www.yale.edu/tp/cas";
    static final String SAMLP_NS = "urn:oasis:names:tc:SAML:2.0:protocol";
    /** The largest request body read (a logoutRequest is well under 4 KiB). */
    static final int MAX_BODY = 64 * 1024;
    /** A session ends after this long, or after IDLE without a request. */
    static final Duration LIFETIME = Duration.ofHours(8);
    static final Duration IDLE = Duration.ofMinutes(30);
    /** The most sessions kept (a crowd of logins must not exhaust the memory). */
    static final int MAX_SESSIONS = 100_000;

    /** A signed-in person: the CAS user, the released attributes, the ticket that opened it. */
    record SignedIn(String user, Map<String, List<String>> attributes, String ticket, Instant started, Instant seen) {}

    final String casBase;
    final URI service;
    final Set<String> logoutFrom;
    /** Over https the cookies are Secure and host-only (`__Host-`). */
    final String cookie;
    final String loginCookie;
    final String cookieFlags;
    final Map<String, SignedIn> sessions = new ConcurrentHashMap<>(); // session id -> person
    final Map<String, String> byTicket = new ConcurrentHashMap<>(); // ticket -> session id
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final SecureRandom random = new SecureRandom();

    CasApp(String casBase, URI service, Set<String> logoutFrom) {
        this.casBase = casBase.replaceAll("/+$", "");
        this.service = service;
        this.logoutFrom = logoutFrom;
        boolean https = "https".equals(service.getScheme());
        this.cookie = https ? "__Host-CASAPP" : "CASAPP";
        this.loginCookie = https ? "__Host-CASAPP-LOGIN" : "CASAPP-LOGIN";
        this.cookieFlags = "; Path=/; HttpOnly; SameSite=Lax" + (https ? "; Secure" : "");
    }

    public static void main(String[] args) throws IOException {
        String from = System.getenv().getOrDefault("CAS_LOGOUT_FROM", "");
        Set<String> logoutFrom = Set.of(from.isBlank() ? new String[0] : from.split("\\s*,\\s*"));
        CasApp app = new CasApp(env("CAS_BASE"), URI.create(env("SERVICE_URL")), logoutFrom);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", app.service.getPort()), 0);
        server.createContext(app.service.getPath(), app::handle);
        server.start();
        System.out.println("listening on " + app.service);
    }

    static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isBlank()) {
            System.err.println("missing environment variable " + name);
            System.exit(2);
        }
        return v;
    }

    void handle(HttpExchange ex) throws IOException {
        try (ex) {
            Map<String, String> query = form(ex.getRequestURI().getRawQuery());
            if ("POST".equals(ex.getRequestMethod())) {
                singleLogout(ex);
            } else if (query.containsKey("ticket")) {
                validate(ex, query.get("ticket"));
            } else if (query.containsKey("logout")) {
                end(cookie(ex, cookie));
                ex.getResponseHeaders().add("Set-Cookie", cookie + "=; Max-Age=0" + cookieFlags);
                redirect(ex, casBase + "/cas/logout?service=" + enc(service.toString()));
            } else {
                SignedIn who = current(ex);
                if (who == null) {
                    // this browser starts a sign-in: only a browser that did so may bring a
                    // ticket back (CAS has no `state`; this stops an attacker's link with the
                    // attacker's own ticket from signing a victim in as the attacker)
                    ex.getResponseHeaders().add("Set-Cookie", loginCookie + "=" + newId() + "; Max-Age=600" + cookieFlags);
                    redirect(ex, casBase + "/cas/login?service=" + enc(service.toString()));
                } else {
                    StringBuilder out = new StringBuilder("user=").append(who.user()).append('\n');
                    who.attributes().forEach((k, vs) -> vs.forEach(v -> out.append("attr:").append(k).append('=').append(v).append('\n')));
                    text(ex, 200, out.toString());
                }
            }
        } catch (Exception e) {
            System.err.println("request failed: " + e);
        }
    }

    /** CAS 3.0 §2.5: the ticket is validated for this service; a session is opened on success. */
    void validate(HttpExchange ex, String ticket) throws IOException, InterruptedException {
        if (cookie(ex, loginCookie) == null) {
            // not a sign-in this browser started: start one (the ticket is left unused)
            ex.getResponseHeaders().add("Set-Cookie", loginCookie + "=" + newId() + "; Max-Age=600" + cookieFlags);
            redirect(ex, casBase + "/cas/login?service=" + enc(service.toString()));
            return;
        }
        URI url = URI.create(casBase + "/cas/p3/serviceValidate?service=" + enc(service.toString()) + "&ticket=" + enc(ticket));
        HttpResponse<byte[]> res = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        Document doc = res.statusCode() == 200 ? parse(res.body()) : null;
        Element success = doc == null ? null : first(doc.getDocumentElement(), CAS_NS, "authenticationSuccess");
        if (success == null) {
            Element failure = doc == null ? null : first(doc.getDocumentElement(), CAS_NS, "authenticationFailure");
            String code = failure == null ? "HTTP " + res.statusCode() : failure.getAttribute("code");
            text(ex, 403, "the ticket was refused: " + code + "\n");
            return;
        }
        Element user = first(success, CAS_NS, "user");
        Map<String, List<String>> attributes = new LinkedHashMap<>();
        Element attrs = first(success, CAS_NS, "attributes");
        for (Node n = attrs == null ? null : attrs.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element a && CAS_NS.equals(a.getNamespaceURI())) {
                attributes.computeIfAbsent(a.getLocalName(), k -> new ArrayList<>()).add(a.getTextContent());
            }
        }
        // a new session id at every sign-in (never one the browser brought); the old one ends
        end(cookie(ex, cookie));
        if (sessions.size() >= MAX_SESSIONS) {
            sessions.keySet().removeIf(id -> current(id) == null);
            if (sessions.size() >= MAX_SESSIONS) {
                text(ex, 503, "too many sessions\n");
                return;
            }
        }
        String sid = newId();
        Instant now = Instant.now();
        sessions.put(sid, new SignedIn(user.getTextContent().trim(), attributes, ticket, now, now));
        byTicket.put(ticket, sid);
        ex.getResponseHeaders().add("Set-Cookie", loginCookie + "=; Max-Age=0" + cookieFlags);
        ex.getResponseHeaders().add("Set-Cookie", cookie + "=" + sid + cookieFlags);
        redirect(ex, service.toString());
    }

    /** CAS 3.0 §2.3.3: the provider POSTs a SAML LogoutRequest naming the ticket in SessionIndex. */
    void singleLogout(HttpExchange ex) throws IOException {
        String sender = ex.getRemoteAddress().getAddress().getHostAddress();
        if (!logoutFrom.isEmpty() && !logoutFrom.contains(sender)) {
            text(ex, 403, "not a logout sender\n");
            return;
        }
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(MAX_BODY + 1);
        }
        String request = body.length > MAX_BODY ? null : form(new String(body, StandardCharsets.UTF_8)).get("logoutRequest");
        Document doc = request == null ? null : parse(request.getBytes(StandardCharsets.UTF_8));
        Element index = doc == null ? null : first(doc.getDocumentElement(), SAMLP_NS, "SessionIndex");
        if (index == null) {
            text(ex, 400, "no logoutRequest\n");
            return;
        }
        end(byTicket.get(index.getTextContent().trim()));
        text(ex, 200, "ok\n");
    }

    void end(String sid) {
        SignedIn gone = sid == null ? null : sessions.remove(sid);
        if (gone != null) {
            byTicket.remove(gone.ticket());
        }
    }

    /** The live session the request's cookie names, its last use updated; `null` if none. */
    SignedIn current(HttpExchange ex) {
        String sid = cookie(ex, cookie);
        SignedIn who = sid == null ? null : current(sid);
        if (who != null) {
            sessions.replace(sid, who, new SignedIn(who.user(), who.attributes(), who.ticket(), who.started(), Instant.now()));
        }
        return who;
    }

    /** The session `sid` if it is live; an expired one is ended. */
    SignedIn current(String sid) {
        SignedIn who = sessions.get(sid);
        Instant now = Instant.now();
        if (who != null && (now.isAfter(who.started().plus(LIFETIME)) || now.isAfter(who.seen().plus(IDLE)))) {
            end(sid);
            return null;
        }
        return who;
    }

    String newId() {
        byte[] id = new byte[32];
        random.nextBytes(id);
        return HexFormat.of().formatHex(id);
    }

    static String cookie(HttpExchange ex, String name) {
        for (String header : ex.getRequestHeaders().getOrDefault("Cookie", List.of())) {
            for (String c : header.split(";")) {
                String[] kv = c.trim().split("=", 2);
                if (kv.length == 2 && kv[0].equals(name) && !kv[1].isEmpty()) {
                    return kv[1];
                }
            }
        }
        return null;
    }

    /** XML without DTDs or external entities (the answers come from the network). */
    static Document parse(byte[] xml) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setXIncludeAware(false);
            f.setExpandEntityReferences(false);
            return f.newDocumentBuilder().parse(new ByteArrayInputStream(xml));
        } catch (Exception e) {
            return null;
        }
    }

    static Element first(Element root, String ns, String name) {
        return root.getLocalName().equals(name) && ns.equals(root.getNamespaceURI())
                ? root
                : (Element) root.getElementsByTagNameNS(ns, name).item(0);
    }

    static Map<String, String> form(String raw) {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            String[] kv = pair.split("=", 2);
            out.putIfAbsent(URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
                    kv.length == 2 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
        }
        return out;
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static void redirect(HttpExchange ex, String to) throws IOException {
        ex.getResponseHeaders().add("Location", to);
        ex.sendResponseHeaders(303, -1);
    }

    static void text(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "text/plain; charset=utf-8");
        ex.getResponseHeaders().add("Cache-Control", "no-store");
        ex.getResponseHeaders().add("X-Content-Type-Options", "nosniff");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
    }
}
