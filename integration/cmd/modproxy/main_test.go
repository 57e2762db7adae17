package main

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// repo lays out a git repository of two modules, the root and sub/, which
// requires the root at v0.1.0; files maps paths to contents.
func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "go.mod", "sub/go.mod"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func zipNames(t *testing.T, path string) []string {
	t.Helper()
	r, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var names []string
	for _, f := range r.File {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	return names
}

func TestProxyLayout(t *testing.T) {
	dir := repo(t, map[string]string{
		"go.mod":          "module example.com/m\n\ngo 1.26.0\n",
		"m.go":            "package m\n",
		".gitignore":      "/bin/\n",
		"bin/tool":        "built here, never released",
		"sub/go.mod":      "module example.com/m/sub\n\ngo 1.26.0\n\nrequire example.com/m v0.1.0\n",
		"sub/sub.go":      "package sub\n",
		"sub/new_file.go": "package sub // untracked, not ignored: the next commit's\n",
	})
	out := t.TempDir()
	if _, err := run(dir, "v0.1.0", out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"list", "v0.1.0.info", "v0.1.0.mod", "v0.1.0.zip"} {
		for _, mod := range []string{"example.com/m", "example.com/m/sub"} {
			if _, err := os.Stat(filepath.Join(out, mod, "@v", f)); err != nil {
				t.Errorf("%s: %v", mod, err)
			}
		}
	}
	if list, _ := os.ReadFile(filepath.Join(out, "example.com/m/@v/list")); string(list) != "v0.1.0\n" {
		t.Errorf("list = %q", list)
	}
	root := zipNames(t, filepath.Join(out, "example.com/m/@v/v0.1.0.zip"))
	if want := []string{"example.com/m@v0.1.0/.gitignore", "example.com/m@v0.1.0/go.mod", "example.com/m@v0.1.0/m.go"}; !slices.Equal(root, want) {
		t.Errorf("root zip = %v; want %v (no sub-module, nothing ignored)", root, want)
	}
	sub := zipNames(t, filepath.Join(out, "example.com/m/sub/@v/v0.1.0.zip"))
	if want := []string{"example.com/m/sub@v0.1.0/go.mod", "example.com/m/sub@v0.1.0/new_file.go", "example.com/m/sub@v0.1.0/sub.go"}; !slices.Equal(sub, want) {
		t.Errorf("sub zip = %v; want %v", sub, want)
	}
}

func TestRefusesWhatAConsumerCannotUse(t *testing.T) {
	for name, subMod := range map[string]string{
		"replace":       "module example.com/m/sub\n\ngo 1.26.0\n\nrequire example.com/m v0.1.0\n\nreplace example.com/m => ../\n",
		"other version": "module example.com/m/sub\n\ngo 1.26.0\n\nrequire example.com/m v0.0.0-00010101000000-000000000000\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := repo(t, map[string]string{
				"go.mod":     "module example.com/m\n\ngo 1.26.0\n",
				"sub/go.mod": subMod,
			})
			out := filepath.Join(t.TempDir(), "proxy")
			_, err := run(dir, "v0.1.0", out)
			if err == nil || !strings.Contains(err.Error(), "sub/go.mod") {
				t.Fatalf("run = %v; want a refusal naming sub/go.mod", err)
			}
			if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
				t.Errorf("a proxy was written although the repository was refused")
			}
		})
	}
	if _, err := run(t.TempDir(), "0.1", t.TempDir()); err == nil {
		t.Error("version 0.1 accepted")
	}
}
