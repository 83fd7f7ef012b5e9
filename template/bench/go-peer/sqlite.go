//go:build sqlite

// The SQLite store of the Go peer, configured the way hexsvc's sqlite_store
// is so the comparison is about the servers, not the settings: one file in
// --data-dir, WAL journal, synchronous=NORMAL, a 5 s busy timeout and a pool
// of 4 connections (hexsvc's HEXSVC_POOL_SIZE default). Creates commit at
// once; resolves only read. Hits are counted in memory on the returned link
// and not written back: hexsvc sums them in memory too and writes them in one
// transaction per second, a cost that does not show per request.
package main

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

type sqliteStore struct {
	db       *sql.DB
	insertSt *sql.Stmt
	findSt   *sql.Stmt
}

func init() {
	storeOpeners["sqlite"] = openSQLiteStore
}

func openSQLiteStore(dataDir string) (linkStore, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	dsn := "file:" + filepath.Join(dataDir, "go-peer.db") +
		"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS links (
		code TEXT PRIMARY KEY, url TEXT NOT NULL, created_at INTEGER NOT NULL,
		hits INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID`); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	s := &sqliteStore{db: db}
	if s.insertSt, err = db.Prepare("INSERT INTO links (code, url, created_at) VALUES (?, ?, ?)"); err != nil {
		return nil, err
	}
	if s.findSt, err = db.Prepare("SELECT url, created_at FROM links WHERE code = ?"); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *sqliteStore) insert(l *link) error {
	_, err := s.insertSt.Exec(l.code, l.url, l.createdAt.UnixMilli())
	var sqliteErr sqlite3.Error
	if errors.As(err, &sqliteErr) && sqliteErr.ExtendedCode == sqlite3.ErrConstraintPrimaryKey {
		return errCodeTaken
	}
	return err
}

func (s *sqliteStore) find(code string) (*link, error) {
	l := &link{code: code}
	var createdAt int64
	err := s.findSt.QueryRow(code).Scan(&l.url, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l.createdAt = time.UnixMilli(createdAt).UTC()
	return l, nil
}
