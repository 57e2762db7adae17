// Command modproxy writes a file-based Go module proxy that serves every
// module of this repository at one version, made from the working tree as
// it is (committed or not), so that the modules can be fetched, tidied and
// built the way a consumer will once that version is tagged:
//
//	go run ./cmd/modproxy -version v0.1.0 -out /tmp/proxy      (from integration/)
//	GOPROXY=file:///tmp/proxy,$(go env GOPROXY) GONOSUMDB=github.com/mcpsession/mcpsession go get …
//
// Each module gets the proxy layout (`<module>/@v/list`, `.info`, `.mod`,
// `.zip`), its zip built by golang.org/x/mod/zip from the files git would
// commit: tracked files and untracked ones that .gitignore does not
// exclude, each as it is in the working tree. So the zip holds what the
// tag would, and nothing that is only on this machine (bin/, databases).
//
// It refuses a repository that is not ready to be released: a go.mod with
// a replace directive (a consumer ignores replaces), or one that requires
// another module of this repository at any version but -version.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

func main() {
	version := flag.String("version", "", "the version to serve every module at, e.g. v0.1.0")
	out := flag.String("out", "", "the proxy's directory (created; what it held is replaced)")
	repo := flag.String("repo", "..", "the repository's root directory")
	flag.Parse()
	mods, err := run(*repo, *version, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
	for _, m := range mods {
		fmt.Println(m.path, *version)
	}
}

// repoModule is one module of the repository.
type repoModule struct {
	dir  string // relative to the repository, "." for the root
	path string // module path
	mod  []byte // go.mod as it is
}

// run writes the proxy and returns the modules it serves.
func run(repo, version, out string) ([]repoModule, error) {
	if !semver.IsValid(version) || semver.Canonical(version) != version || semver.Build(version) != "" {
		return nil, fmt.Errorf("-version %q: want a canonical semantic version such as v0.1.0", version)
	}
	if out == "" {
		return nil, errors.New("-out: want a directory")
	}
	files, err := gitFiles(repo)
	if err != nil {
		return nil, err
	}
	mods, err := findModules(repo, files)
	if err != nil {
		return nil, err
	}
	if err := checkReleasable(mods, version); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return nil, err
	}
	for _, m := range mods {
		if err := writeModule(repo, out, m, version, info, files); err != nil {
			return nil, fmt.Errorf("%s: %w", m.path, err)
		}
	}
	return mods, nil
}

// gitFiles lists, relative to the repository, the files git would commit
// that exist in the working tree.
func gitFiles(repo string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	listed, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range strings.Split(string(listed), "\x00") {
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		if fi, err := os.Lstat(filepath.Join(repo, f)); err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or a symlink zips refuse
		}
		files = append(files, f)
	}
	sort.Strings(files)
	return files, nil
}

// findModules returns the modules whose go.mod git would commit, outside
// testdata directories, the root first.
func findModules(repo string, files []string) ([]repoModule, error) {
	var mods []repoModule
	for _, f := range files {
		if path.Base(f) != "go.mod" || strings.Contains("/"+f, "/testdata/") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			return nil, err
		}
		p := modfile.ModulePath(data)
		if p == "" {
			return nil, fmt.Errorf("%s: no module line", f)
		}
		mods = append(mods, repoModule{dir: path.Dir(f), path: p, mod: data})
	}
	if len(mods) == 0 {
		return nil, errors.New("no go.mod in the repository")
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].path < mods[j].path })
	return mods, nil
}

// checkReleasable refuses replace directives and requirements of the
// repository's own modules at other versions than version.
func checkReleasable(mods []repoModule, version string) error {
	ours := map[string]bool{}
	for _, m := range mods {
		ours[m.path] = true
	}
	var problems []string
	for _, m := range mods {
		file := path.Join(m.dir, "go.mod")
		// Parse, not ParseLax: ParseLax drops replace directives.
		f, err := modfile.Parse(file, m.mod, nil)
		if err != nil {
			return err
		}
		for _, r := range f.Replace {
			problems = append(problems, fmt.Sprintf("%s replaces %s: a consumer ignores replace directives; use go.work", file, r.Old.Path))
		}
		for _, r := range f.Require {
			if ours[r.Mod.Path] && r.Mod.Version != version {
				problems = append(problems, fmt.Sprintf("%s requires %s %s, not %s", file, r.Mod.Path, r.Mod.Version, version))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("not releasable at %s:\n  %s", version, strings.Join(problems, "\n  "))
	}
	return nil
}

func writeModule(repo, out string, m repoModule, version string, info []byte, files []string) error {
	escaped, err := module.EscapePath(m.path)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "list"), []byte(version+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, version+".info"), info, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, version+".mod"), m.mod, 0o644); err != nil {
		return err
	}
	var inModule []zip.File
	prefix := m.dir + "/"
	for _, f := range files {
		rel, ok := f, true
		if m.dir != "." {
			rel, ok = strings.CutPrefix(f, prefix)
		}
		if ok {
			inModule = append(inModule, repoFile{abs: filepath.Join(repo, f), rel: rel})
		}
	}
	z, err := os.Create(filepath.Join(dir, version+".zip"))
	if err != nil {
		return err
	}
	// zip.Create leaves out what a module zip must not hold: the files of
	// modules in subdirectories, vendor directories and the like.
	if err := zip.Create(z, module.Version{Path: m.path, Version: version}, inModule); err != nil {
		_ = z.Close()
		return err
	}
	return z.Close()
}

// repoFile is a file of the working tree, named by its path in the module.
type repoFile struct{ abs, rel string }

func (f repoFile) Path() string                 { return f.rel }
func (f repoFile) Lstat() (fs.FileInfo, error)  { return os.Lstat(f.abs) }
func (f repoFile) Open() (io.ReadCloser, error) { return os.Open(f.abs) }
