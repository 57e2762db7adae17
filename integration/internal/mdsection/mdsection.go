package mdsection

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

func begin(name string) string { return "<!-- begin " + name + " -->" }
func end(name string) string   { return "<!-- end " + name + " -->" }

// find returns the byte range of section name in doc, markers and the
// newline after the end marker included, or ok false.
func find(doc, name string) (from, to int, ok bool) {
	from = strings.Index(doc, begin(name)+"\n")
	if from < 0 {
		return 0, 0, false
	}
	rel := strings.Index(doc[from:], end(name))
	if rel < 0 {
		return 0, 0, false
	}
	to = from + rel + len(end(name))
	if to < len(doc) && doc[to] == '\n' {
		to++
	}
	return from, to, true
}

// block is section name with body, markers included.
func block(name, body string) string {
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return begin(name) + "\n" + body + end(name) + "\n"
}

// Replace returns doc with section name's body replaced by body, or with
// the section appended (after a blank line) if doc has none.
func Replace(doc, name, body string) string {
	if from, to, ok := find(doc, name); ok {
		return doc[:from] + block(name, body) + doc[to:]
	}
	if doc != "" && !strings.HasSuffix(doc, "\n\n") {
		if strings.HasSuffix(doc, "\n") {
			doc += "\n"
		} else {
			doc += "\n\n"
		}
	}
	return doc + block(name, body)
}

var beginLine = regexp.MustCompile(`(?m)^<!-- begin ([^ >]+) -->$`)

// Names lists the sections of doc, in order.
func Names(doc string) []string {
	var names []string
	for _, m := range beginLine.FindAllStringSubmatch(doc, -1) {
		if _, _, ok := find(doc, m[1]); ok {
			names = append(names, m[1])
		}
	}
	return names
}

// Carry returns next with every section of prev that next lacks appended,
// in prev's order.
func Carry(prev, next string) string {
	have := map[string]bool{}
	for _, n := range Names(next) {
		have[n] = true
	}
	for _, n := range Names(prev) {
		if have[n] {
			continue
		}
		from, to, _ := find(prev, n)
		body := prev[from+len(begin(n))+1 : to]
		body = strings.TrimSuffix(strings.TrimSuffix(body, "\n"), end(n))
		next = Replace(next, n, body)
	}
	return next
}

// ReplaceInFile replaces section name in the file at path, which need not
// exist yet.
func ReplaceInFile(path, name, body string) error {
	doc, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if strings.Contains(body, begin(name)) || strings.Contains(body, end(name)) {
		return fmt.Errorf("mdsection: the body of %s holds its own markers", name)
	}
	return os.WriteFile(path, []byte(Replace(string(doc), name, body)), 0o644)
}
