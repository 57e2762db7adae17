// Command apicount counts the exported names of the repository's public
// packages, the promises an import makes to a user:
//
//	go run ./cmd/apicount            (from integration/; -repo names the root)
//
// A public package is one a user can import: not under an internal/
// directory, not package main, not in the integration module (a test suite
// nobody imports) nor in testdata. Of each, it counts what its non-test
// files for this platform declare: exported types, functions, methods of
// exported types (an exported interface's methods among them), exported
// fields of exported struct types (not embedded ones: the embedded type is
// counted where it is declared), exported constants and variables.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

func main() {
	repo := flag.String("repo", "..", "the repository's root directory")
	flag.Parse()
	pkgs, err := count(*repo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicount:", err)
		os.Exit(1)
	}
	writeTable(os.Stdout, pkgs)
}

// counts is what one package exports, by kind.
type counts struct {
	dir                                         string
	types, funcs, methods, fields, consts, vars int
}

func (c counts) total() int { return c.types + c.funcs + c.methods + c.fields + c.consts + c.vars }

// skipDirs are the directories no public package lives under.
var skipDirs = map[string]bool{"internal": true, "testdata": true, "integration": true, "bin": true}

func count(repo string) ([]counts, error) {
	var out []counts
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != repo && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		bp, err := build.ImportDir(path, 0)
		if err != nil {
			var none *build.NoGoError
			if asNoGo(err, &none) {
				return nil
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		if bp.Name == "main" {
			return nil
		}
		c, err := countPackage(path, bp.GoFiles)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, path)
		c.dir = filepath.ToSlash(rel)
		out = append(out, c)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].dir < out[j].dir })
	return out, err
}

func asNoGo(err error, target **build.NoGoError) bool {
	e, ok := err.(*build.NoGoError)
	if ok {
		*target = e
	}
	return ok
}

func countPackage(dir string, files []string) (counts, error) {
	var c counts
	fset := token.NewFileSet()
	exportedTypes := map[string]bool{}
	var decls []*ast.File
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return c, err
		}
		decls = append(decls, f)
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					if ts := s.(*ast.TypeSpec); ts.Name.IsExported() {
						exportedTypes[ts.Name.Name] = true
					}
				}
			}
		}
	}
	for _, f := range decls {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					c.funcs++
				} else if exportedTypes[receiverType(d.Recv.List[0].Type)] {
					c.methods++
				}
			case *ast.GenDecl:
				countGenDecl(&c, d)
			}
		}
	}
	return c, nil
}

func countGenDecl(c *counts, d *ast.GenDecl) {
	for _, s := range d.Specs {
		switch s := s.(type) {
		case *ast.TypeSpec:
			if !s.Name.IsExported() {
				continue
			}
			c.types++
			switch t := s.Type.(type) {
			case *ast.StructType:
				for _, f := range t.Fields.List {
					for _, n := range f.Names {
						if n.IsExported() {
							c.fields++
						}
					}
				}
			case *ast.InterfaceType:
				for _, m := range t.Methods.List {
					for _, n := range m.Names {
						if n.IsExported() {
							c.methods++
						}
					}
				}
			}
		case *ast.ValueSpec:
			for _, n := range s.Names {
				if !n.IsExported() {
					continue
				}
				if d.Tok == token.CONST {
					c.consts++
				} else {
					c.vars++
				}
			}
		}
	}
}

// receiverType is the name of a method's receiver type: T of T, *T, T[P].
func receiverType(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

func writeTable(w io.Writer, pkgs []counts) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "package\ttypes\tfuncs\tmethods\tfields\tconsts\tvars\ttotal\t")
	var sum counts
	for _, p := range pkgs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", p.dir, p.types, p.funcs, p.methods, p.fields, p.consts, p.vars, p.total())
		sum.types += p.types
		sum.funcs += p.funcs
		sum.methods += p.methods
		sum.fields += p.fields
		sum.consts += p.consts
		sum.vars += p.vars
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", sum.types, sum.funcs, sum.methods, sum.fields, sum.consts, sum.vars, sum.total())
	tw.Flush()
}
