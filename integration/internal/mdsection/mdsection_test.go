package mdsection

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReplace(t *testing.T) {
	doc := "# Benchmarks\n\nintro\n"
	doc = Replace(doc, "loadgen:capacity", "## Capacity\n\nv1\n")
	want := "# Benchmarks\n\nintro\n\n<!-- begin loadgen:capacity -->\n## Capacity\n\nv1\n<!-- end loadgen:capacity -->\n"
	if doc != want {
		t.Fatalf("appended:\n%q\nwant\n%q", doc, want)
	}
	doc = Replace(doc, "loadgen:growth", "## Growth\n")
	doc = Replace(doc, "loadgen:capacity", "## Capacity\n\nv2") // a body without its final newline
	want = "# Benchmarks\n\nintro\n\n<!-- begin loadgen:capacity -->\n## Capacity\n\nv2\n<!-- end loadgen:capacity -->\n" +
		"\n<!-- begin loadgen:growth -->\n## Growth\n<!-- end loadgen:growth -->\n"
	if doc != want {
		t.Fatalf("replaced in place:\n%q\nwant\n%q", doc, want)
	}
	if got := Names(doc); !slices.Equal(got, []string{"loadgen:capacity", "loadgen:growth"}) {
		t.Errorf("names %q", got)
	}
}

// A generator that rewrites the whole file keeps the other generators'
// sections, and its own sections win.
func TestCarry(t *testing.T) {
	prev := Replace(Replace("# old\n", "a", "A1\n"), "b", "B1\n")
	next := Replace("# new\n", "b", "B2\n")
	got := Carry(prev, next)
	want := Replace(Replace("# new\n", "b", "B2\n"), "a", "A1\n")
	if got != want {
		t.Fatalf("carried:\n%q\nwant\n%q", got, want)
	}
	if Carry("", "# new\n") != "# new\n" {
		t.Error("nothing to carry changed the file")
	}
}

func TestReplaceInFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	if err := ReplaceInFile(path, "s", "body\n"); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceInFile(path, "s", "x <!-- end s --> y\n"); err == nil {
		t.Error("a body holding the end marker was written")
	}
	b, _ := os.ReadFile(path)
	if string(b) != "<!-- begin s -->\nbody\n<!-- end s -->\n" {
		t.Errorf("file %q", b)
	}
}
