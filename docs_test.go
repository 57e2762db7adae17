package mcpsession_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxReadmeLines is the README's budget: what it is, the two commands,
// install, a quick start per era, the house and where to read more; the
// rest lives in docs/ and the package docs.
const maxReadmeLines = 300

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`^(#+)\s+(.*)`)
	mdFence   = regexp.MustCompile("(?s)```.*?```")
	slugDrop  = regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
	htmlTag   = regexp.MustCompile(`<[^>]+>`)
)

// TestDocsLinks checks that every relative link of README.md and docs/*.md
// names a file that exists and, for a Markdown file, a heading it has (as
// GitHub spells heading anchors), and that the README keeps to its budget.
func TestDocsLinks(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{"README.md"}, files...)
	anchors := map[string]map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if f == "README.md" {
			if n := strings.Count(string(b), "\n"); n > maxReadmeLines {
				t.Errorf("README.md has %d lines, more than %d: move the detail to docs/", n, maxReadmeLines)
			}
		}
		for _, m := range mdLink.FindAllStringSubmatch(mdFence.ReplaceAllString(string(b), ""), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(link, "#")
			target := f
			if path != "" {
				target = filepath.Join(filepath.Dir(f), path)
			}
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s: link %q: no file %s", f, link, target)
				continue
			}
			if frag == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			if anchors[target] == nil {
				anchors[target] = headingAnchors(t, target)
			}
			if !anchors[target][frag] {
				t.Errorf("%s: link %q: %s has no heading #%s", f, link, target, frag)
			}
		}
	}
}

// headingAnchors returns the anchors GitHub gives the headings of the
// Markdown file path: lower case, punctuation dropped, spaces as hyphens,
// repeats numbered.
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	out := map[string]bool{}
	for _, line := range strings.Split(mdFence.ReplaceAllString(string(b), ""), "\n") {
		m := mdHeading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := strings.ToLower(strings.TrimSpace(htmlTag.ReplaceAllString(m[2], "")))
		s = strings.ReplaceAll(slugDrop.ReplaceAllString(s, ""), " ", "-")
		if n := seen[s]; n > 0 {
			out[s+"-"+strconv.Itoa(n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}
