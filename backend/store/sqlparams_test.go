package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// dbMethods are the database/sql calls that take SQL text, with the index of the query
// argument. Any method of these names counts: the interfaces the packages declare
// (throttle.Execer, audit.Querier...) use the same names.
var dbMethods = map[string]int{
	"Exec": 0, "Query": 0, "QueryRow": 0, "Prepare": 0,
	"ExecContext": 1, "QueryContext": 1, "QueryRowContext": 1, "PrepareContext": 1,
}

// sqlAllowed are the calls, by file and function, whose SQL is not a constant, each with
// why that is safe. Anything else built at run time fails the test.
var sqlAllowed = map[string]string{
	"store/store.go:checkPragmas": "PRAGMA names cannot be bound as parameters; name ranges over the keys of a map literal in the function",
	"store/store.go:migrate": "the migration files are embedded in the binary at build time (go:embed), never input; " +
		"PRAGMA user_version takes no parameter and gets an int the program computed (strconv.Itoa)",
}

// source is the parsed Go code of one tree, for the checks below.
type source struct {
	fset  *token.FileSet
	files map[string]*ast.File // by path relative to the tree's root
	// consts and vars are the package-level names of each directory.
	consts map[string]map[string]bool
	// funcs are every function and method declaration, to find their callers.
	funcs []funcDecl
	// driverFiles import database/sql/driver: they implement the driver layer (a statement
	// cache, say), passing down the SQL that database/sql hands them. That SQL is checked
	// where it is written, at the database/sql calls; these files are not checked again.
	driverFiles map[string]bool
	// calls counts the database calls check looked at.
	calls int
}

type funcDecl struct {
	dir, file string
	decl      *ast.FuncDecl
}

func parseTree(t *testing.T, root string, keep func(path string) bool) *source {
	t.Helper()
	s := &source{fset: token.NewFileSet(), files: map[string]*ast.File{}, consts: map[string]map[string]bool{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() || !strings.HasSuffix(path, ".go") || !keep(rel) {
			return nil
		}
		f, err := parser.ParseFile(s.fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		s.add(rel, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *source) add(rel string, f *ast.File) {
	s.files[rel] = f
	for _, imp := range f.Imports {
		if imp.Path.Value == `"database/sql/driver"` {
			if s.driverFiles == nil {
				s.driverFiles = map[string]bool{}
			}
			s.driverFiles[rel] = true
		}
	}
	dir := filepath.ToSlash(filepath.Dir(rel))
	if s.consts[dir] == nil {
		s.consts[dir] = map[string]bool{}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			if d.Tok != token.CONST {
				continue
			}
			for _, spec := range d.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					s.consts[dir][n.Name] = true
				}
			}
		case *ast.FuncDecl:
			s.funcs = append(s.funcs, funcDecl{dir: dir, file: rel, decl: d})
		}
	}
}

// finding is a database call whose SQL is not a constant expression.
type finding struct {
	where string // file:function
	pos   string
	expr  string
}

// check returns the database calls whose query is not provably constant.
func (s *source) check() []finding {
	var out []finding
	for _, fn := range s.funcs {
		if fn.decl.Body == nil || s.driverFiles[fn.file] {
			continue
		}
		ast.Inspect(fn.decl.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			idx, ok := dbMethods[sel.Sel.Name]
			if !ok || len(call.Args) <= idx {
				return true
			}
			q := call.Args[idx]
			s.calls++
			if !s.constant(fn, q, map[string]bool{}) {
				out = append(out, finding{
					where: fn.file + ":" + fn.decl.Name.Name,
					pos:   s.fset.Position(q.Pos()).String(),
					expr:  exprString(q),
				})
			}
			return true
		})
	}
	return out
}

// constant reports whether e can only ever be SQL text written in the source: a string
// literal, a named constant, a concatenation of those, a local variable only ever assigned
// such values, or a parameter that every caller passes such a value.
func (s *source) constant(fn funcDecl, e ast.Expr, visiting map[string]bool) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.ParenExpr:
		return s.constant(fn, e.X, visiting)
	case *ast.BinaryExpr:
		return e.Op == token.ADD && s.constant(fn, e.X, visiting) && s.constant(fn, e.Y, visiting)
	case *ast.Ident:
		if local, ok := s.localConstant(fn, e.Name, visiting); ok {
			return local
		}
		if i := paramIndex(fn.decl, e.Name); i >= 0 {
			return s.everyCallerPassesConstant(fn, i, visiting)
		}
		return s.consts[fn.dir][e.Name]
	case *ast.SelectorExpr:
		// pkg.Const: a constant of another package of this tree.
		if x, ok := e.X.(*ast.Ident); ok {
			for dir, names := range s.consts {
				if filepath.Base(dir) == x.Name && names[e.Sel.Name] {
					return true
				}
			}
		}
	}
	return false
}

// localConstant looks at the declarations and assignments of name inside fn. ok is false
// when fn declares no local of that name.
func (s *source) localConstant(fn funcDecl, name string, visiting map[string]bool) (constant, ok bool) {
	constant = true
	ast.Inspect(fn.decl.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				if id, isIdent := lhs.(*ast.Ident); isIdent && id.Name == name {
					ok = true
					if len(n.Rhs) != len(n.Lhs) || !s.constant(fn, n.Rhs[i], visiting) {
						constant = false
					}
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if id.Name != name {
					continue
				}
				ok = true
				if i < len(n.Values) {
					constant = constant && s.constant(fn, n.Values[i], visiting)
				} else if n.Type == nil || exprString(n.Type) != "string" {
					constant = false
				}
			}
		case *ast.RangeStmt:
			for _, v := range []ast.Expr{n.Key, n.Value} {
				if id, isIdent := v.(*ast.Ident); isIdent && id.Name == name {
					ok, constant = true, false
				}
			}
		case *ast.FuncLit:
			for _, f := range n.Type.Params.List {
				for _, id := range f.Names {
					if id.Name == name {
						ok, constant = true, false
					}
				}
			}
		}
		return true
	})
	return constant, ok
}

func paramIndex(fd *ast.FuncDecl, name string) int {
	i := 0
	for _, f := range fd.Type.Params.List {
		if len(f.Names) == 0 {
			i++
			continue
		}
		for _, id := range f.Names {
			if id.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

// everyCallerPassesConstant finds the calls of fn in the tree (by name: a method or a
// package-qualified function is matched by its selector) and checks argument i of each.
// A function nobody calls proves nothing and counts as not constant.
func (s *source) everyCallerPassesConstant(fn funcDecl, i int, visiting map[string]bool) bool {
	key := fn.file + ":" + fn.decl.Name.Name + ":" + string(rune('0'+i))
	if visiting[key] {
		return true // a recursive path adds no new values
	}
	visiting[key] = true
	defer delete(visiting, key)
	calls := 0
	for _, caller := range s.funcs {
		if caller.decl.Body == nil {
			continue
		}
		ok := true
		ast.Inspect(caller.decl.Body, func(n ast.Node) bool {
			call, isCall := n.(*ast.CallExpr)
			if !isCall || len(call.Args) <= i {
				return true
			}
			name := ""
			switch f := call.Fun.(type) {
			case *ast.Ident:
				if caller.dir == fn.dir {
					name = f.Name
				}
			case *ast.SelectorExpr:
				name = f.Sel.Name
			}
			if name != fn.decl.Name.Name {
				return true
			}
			calls++
			if !s.constant(caller, call.Args[i], visiting) {
				ok = false
			}
			return true
		})
		if !ok {
			return false
		}
	}
	return calls > 0
}

func exprString(e ast.Expr) string {
	var b strings.Builder
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			b.WriteString(n.Name + " ")
		case *ast.BasicLit:
			v := n.Value
			if len(v) > 40 {
				v = v[:40] + "…"
			}
			b.WriteString(v + " ")
		}
		return true
	})
	return strings.TrimSpace(b.String())
}

// Every SQL statement in the server's code is a constant written in the source: values go
// in as parameters, never into the text. The check parses every non-test Go file under
// backend/ and follows a query back through local variables and function parameters to
// literals; the few statements that cannot be constants are listed in sqlAllowed with why.
func TestSQLIsBuiltOnlyFromConstantsAndParameters(t *testing.T) {
	src := parseTree(t, "..", func(rel string) bool { return !strings.HasSuffix(rel, "_test.go") })
	if len(src.files) < 20 {
		t.Fatalf("parsed only %d files: is the test running from backend/store?", len(src.files))
	}
	findings := src.check()
	// A sanity floor: the server makes some sixty database calls.
	if src.calls < 50 {
		t.Fatalf("found only %d database calls: the check no longer recognises them", src.calls)
	}
	for f := range src.driverFiles {
		t.Logf("%s implements the database/sql driver layer: its SQL comes from the calls checked here", f)
	}
	used := map[string]bool{}
	for _, f := range findings {
		if _, ok := sqlAllowed[f.where]; ok {
			used[f.where] = true
			continue
		}
		t.Errorf("%s: %s passes SQL that is not a constant (%s): use a literal and ? parameters", f.pos, f.where, f.expr)
	}
	var stale []string
	for where := range sqlAllowed {
		if !used[where] {
			stale = append(stale, where)
		}
	}
	sort.Strings(stale)
	for _, where := range stale {
		t.Errorf("sqlAllowed lists %s, which no longer builds SQL at run time: remove it", where)
	}
}

// The check itself: it must catch the usual ways of building SQL from values, and accept
// the ways the code legitimately assembles constant text.
func TestTheSQLCheckCatchesQueriesBuiltFromValues(t *testing.T) {
	cases := []struct {
		name, code string
		flagged    bool
	}{
		{"literal", `func f(db *sql.DB) { db.Exec("DELETE FROM t WHERE id = ?", 1) }`, false},
		{"concatenated literals", "func f(db *sql.DB) { db.Exec(`SELECT 1` + ` FROM t`) }", false},
		{"package constant", `const q = "SELECT 1"; func f(db *sql.DB) { db.Query(q) }`, false},
		{"local built from literals", `func f(db *sql.DB, all bool) { q := "SELECT 1"; if all { q += " WHERE 1" }; db.QueryContext(ctx, q) }`, false},
		{"parameter always given a literal", `func g(db *sql.DB, where string) { db.QueryRow("SELECT 1 WHERE " + where) }; func f(db *sql.DB) { g(db, "id = ?") }`, false},
		{"Sprintf", `func f(db *sql.DB, id string) { db.Exec(fmt.Sprintf("DELETE FROM t WHERE id = '%s'", id)) }`, true},
		{"value concatenated", `func f(db *sql.DB, name string) { db.QueryRowContext(ctx, "SELECT 1 FROM t WHERE name = '" + name + "'") }`, true},
		{"local assigned a value", `func f(db *sql.DB, name string) { q := "SELECT 1"; q += name; db.Query(q) }`, true},
		{"parameter given a value by one caller", `func g(db *sql.DB, where string) { db.Exec("DELETE FROM t WHERE " + where) }; func f(db *sql.DB, x string) { g(db, "id = ?"); g(db, x) }`, true},
		{"parameter of an uncalled function", `func g(db *sql.DB, q string) { db.Exec(q) }`, true},
		{"range variable", `func f(db *sql.DB) { for _, q := range qs { db.Exec(q) } }`, true},
		{"string conversion", `func f(db *sql.DB, b []byte) { db.Exec(string(b)) }`, true},
		{"driver layer passing SQL down", `import "database/sql/driver"; func (c *conn) Prepare(q string) (driver.Stmt, error) { return c.inner.Prepare(q) }`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &source{fset: token.NewFileSet(), files: map[string]*ast.File{}, consts: map[string]map[string]bool{}}
			f, err := parser.ParseFile(s.fset, "x.go", "package x\n"+c.code, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			s.add("x/x.go", f)
			if got := len(s.check()) > 0; got != c.flagged {
				t.Fatalf("flagged = %v, want %v", got, c.flagged)
			}
		})
	}
}
