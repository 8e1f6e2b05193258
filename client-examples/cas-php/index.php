<?php
// A page protected by CAS with phpCAS (CAS 3.0 protocol), configured only by environment
// variables:
//
//   CAS_BASE     the provider's tenant URL, e.g. http://127.0.0.1:8080/t/main
//                (the CAS server lives under {CAS_BASE}/cas/)
//   SERVICE_URL  this page's own URL as registered with `idp cas-service add --service`,
//                e.g. http://127.0.0.1:8090/index.php
//   CAS_CA_FILE  optional: the CA (PEM) that signed an https provider's certificate;
//                without it an https provider's certificate is not checked
//   SESSION_DIR  optional: where PHP keeps its sessions (PHP's own setting otherwise)
//   CAS_LOGOUT_FROM  optional: the provider's addresses, the only senders of single-logout
//                messages obeyed (comma-separated, e.g. 127.0.0.1); any sender otherwise
//   CAS_DEBUG    optional: a file for phpCAS's debug log
//
// Run it with:  php -S 127.0.0.1:8090 -t client-examples/cas-php
//
// After sign-in the page prints, as plain text, one line per fact:
//   user=<the CAS user>
//   attr:<name>=<value>        (one line per value of a multi-valued attribute)
// `?logout` ends the local session and sends the browser to the provider's /cas/logout.
// The provider's single-logout message (a form POST with `logoutRequest`) destroys the PHP
// session that was created for the ticket it names.

// Debian's php-cas (/usr/share/php/CAS.php) warns on every request that it prefers Composer.
error_reporting(E_ALL & ~E_DEPRECATED & ~E_USER_DEPRECATED);
require_once 'CAS.php';

function env_or_die(string $name): string
{
    $value = getenv($name);
    if ($value === false || $value === '') {
        http_response_code(500);
        header('Content-Type: text/plain; charset=utf-8');
        exit("missing environment variable $name\n");
    }
    return $value;
}

$casBase = rtrim(env_or_die('CAS_BASE'), '/');
$serviceUrl = env_or_die('SERVICE_URL');

if (($dir = getenv('SESSION_DIR')) !== false && $dir !== '') {
    @mkdir($dir, 0700, true);
    session_save_path($dir); // before phpCAS::client(), which starts the session
}
if (($log = getenv('CAS_DEBUG')) !== false && $log !== '') {
    @phpCAS::setDebug($log); // deprecated in 1.6 (setLogger wants a PSR-3 logger) but works
    phpCAS::setVerbose(true);
}

// phpCAS wants the server as host, port and path and always builds https:// URLs from
// them; the URLs are set in full below, so these only matter for the host name check that
// handleLogoutRequests(true) does when it is given no addresses (not done here).
$server = parse_url($casBase);
$service = parse_url($serviceUrl);
$serviceBase = $service['scheme'] . '://' . $service['host'] . (isset($service['port']) ? ':' . $service['port'] : '');

phpCAS::client(
    CAS_VERSION_3_0,
    $server['host'],
    (int) ($server['port'] ?? ($server['scheme'] === 'https' ? 443 : 80)),
    ($server['path'] ?? '') . '/cas',
    $serviceBase // phpCAS 1.6: the base URL of this application
);

// Always the registered service URL, whatever Host header or query the request had.
phpCAS::setFixedServiceURL($serviceUrl);
// The full endpoint URLs, so that an http:// provider works too. The login URL is used as
// is (phpCAS adds only renew/gateway), so it carries the service itself; the validation URL
// gets `service` and `ticket` added by phpCAS. CAS_VERSION_3_0 validates at /p3/serviceValidate.
phpCAS::setServerLoginURL($casBase . '/cas/login?service=' . urlencode($serviceUrl));
phpCAS::setServerServiceValidateURL($casBase . '/cas/p3/serviceValidate');
phpCAS::setServerLogoutURL($casBase . '/cas/logout');

if (($ca = getenv('CAS_CA_FILE')) !== false && $ca !== '') {
    phpCAS::setCasServerCACert($ca);
} else {
    phpCAS::setNoCasServerValidation(); // an http provider (or an unchecked https one)
}

// Single logout: a POST with `logoutRequest` destroys the session of the ticket it names and
// ends the request here. With CAS_LOGOUT_FROM (comma-separated IP addresses or host names,
// e.g. 127.0.0.1) only those senders are obeyed; without it, any sender is. (phpCAS's own
// default, handleLogoutRequests() with no list, accepts only the CAS server's host name, by
// address or reverse DNS: wrong as soon as the provider's outbound address differs.)
$from = getenv('CAS_LOGOUT_FROM');
if ($from !== false && $from !== '') {
    phpCAS::handleLogoutRequests(true, array_map('trim', explode(',', $from)));
} else {
    phpCAS::handleLogoutRequests(false);
}

if (isset($_GET['logout'])) {
    // Ends the PHP session, then the provider's session; the provider sends the browser
    // back to this page, which asks for a sign-in again.
    phpCAS::logout(['service' => $serviceUrl]);
}

phpCAS::forceAuthentication();

header('Content-Type: text/plain; charset=utf-8');
echo 'user=', phpCAS::getUser(), "\n";
foreach (phpCAS::getAttributes() as $name => $values) {
    foreach ((array) $values as $value) {
        echo 'attr:', $name, '=', is_scalar($value) ? $value : json_encode($value), "\n";
    }
}
