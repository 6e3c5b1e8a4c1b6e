package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestOpenAppliesDurableSettings(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "auth.db"), AccountMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"} {
		var got string
		if err := db.Read.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("reader %s = %s, want %s", pragma, got, want)
		}
	}
	if _, err := db.Read.Exec("DELETE FROM accounts"); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestMigrationsRunOnceAndRecordTheirVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	fsys := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"0002_b.sql": {Data: []byte("INSERT INTO a VALUES (1);")},
	}
	for range 2 {
		db, err := Open(context.Background(), path, fsys)
		if err != nil {
			t.Fatal(err)
		}
		var n, version int
		db.Read.QueryRow("SELECT count(*) FROM a").Scan(&n)
		db.Read.QueryRow("PRAGMA user_version").Scan(&version)
		db.Close()
		if n != 1 || version != 2 {
			t.Fatalf("rows=%d version=%d, want 1 and 2", n, version)
		}
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	newer := fstest.MapFS{"1.sql": {Data: []byte("SELECT 1;")}, "2.sql": {Data: []byte("SELECT 1;")}}
	db, err := Open(context.Background(), path, newer)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(context.Background(), path, fstest.MapFS{"1.sql": {Data: []byte("SELECT 1;")}})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("err = %v, want a schema-too-new error", err)
	}
}

func TestOpenReportsAnUnwritableFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// root writes anywhere; point at a path whose parent is a file instead.
		f := filepath.Join(dir, "file")
		os.Chmod(dir, 0o700)
		os.WriteFile(f, nil, 0o600)
		dir = f
	}
	if _, err := Open(context.Background(), filepath.Join(dir, "auth.db"), AccountMigrations()); err == nil {
		t.Fatal("opened a database in an unwritable place")
	}
}
