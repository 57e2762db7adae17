package driver

import (
	"net/url"
	"regexp"
	"strings"
)

// Redact returns dsn with every secret replaced by "xxxxx", for errors and
// logs: the password of a URL's user (user:password@host), and the value of
// every parameter whose name contains "password" (password, sslpassword),
// in URLs and in key=value DSNs alike. A DSN it cannot parse is replaced by
// its scheme alone.
func Redact(dsn string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			scheme, _, _ := strings.Cut(dsn, "://")
			return scheme + "://(unparsable DSN redacted)"
		}
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
		}
		q := u.Query()
		changed := false
		for k := range q {
			if isSecretParam(k) {
				q.Set(k, "xxxxx")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return kvSecret.ReplaceAllString(dsn, "${1}xxxxx")
}

// secrets returns the secret values Redact would hide in dsn, for scrubbing
// them from text that quotes the DSN in a form Redact cannot see (a
// driver's error message).
func secrets(dsn string) []string {
	var out []string
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil
		}
		if u.User != nil {
			if p, has := u.User.Password(); has && p != "" {
				out = append(out, p, url.PathEscape(p), url.QueryEscape(p))
			}
		}
		for k, vs := range u.Query() {
			if isSecretParam(k) {
				for _, v := range vs {
					if v != "" {
						out = append(out, v, url.QueryEscape(v))
					}
				}
			}
		}
		return out
	}
	for _, m := range kvSecret.FindAllStringSubmatch(dsn, -1) {
		if v := strings.Trim(m[2], "'"); v != "" {
			out = append(out, m[2], v)
		}
	}
	return out
}

func isSecretParam(name string) bool {
	return strings.Contains(strings.ToLower(name), "password")
}

// scrub replaces every secret of dsn in text.
func scrub(text, dsn string) string {
	for _, s := range secrets(dsn) {
		text = strings.ReplaceAll(text, s, "xxxxx")
	}
	return text
}

// kvSecret matches NAMEpassword=VALUE in a key=value DSN (password,
// sslpassword, ...), VALUE being a single-quoted string (with backslash
// escapes) or a run of non-spaces.
var kvSecret = regexp.MustCompile(`(?i)(\b\w*password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

// scrubbedError is an error whose text has had a DSN's secrets removed; it
// still unwraps to the original, for errors.Is and errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// RedactError returns err with every secret of dsn (see Redact) removed
// from its text; it unwraps to err, so errors.Is and errors.As still see
// what err matched. Drivers quote DSNs in their errors in forms of their
// own.
func RedactError(err error, dsn string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := scrub(msg, dsn); clean != msg {
		return &scrubbedError{msg: clean, err: err}
	}
	return err
}
