package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.ChirpStore = (*ChirpStore)(nil)

// ChirpStore keeps chirps in SQLite. Tags live twice: as a JSON array on the
// chirp, so that a chirp comes back whole in one row, and as chirp_tags rows
// for filtering.
type ChirpStore struct {
	db *DB
}

// NewChirpStore returns a ChirpStore on db.
func NewChirpStore(db *DB) *ChirpStore { return &ChirpStore{db: db} }

const chirpColumns = `c.id, c.author_id, u.username, c.message, c.tags, c.created_at`

func scanChirp(row rowScanner) (*chirper.Chirp, error) {
	var (
		c         chirper.Chirp
		tags      string
		createdAt int64
	)
	err := row.Scan(&c.ID, &c.AuthorID, &c.Author, &c.Message, &tags, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chirper.Errorf(chirper.ENOTFOUND, "chirp not found")
	}
	if err != nil {
		return nil, translate(err)
	}
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return nil, err
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	c.CreatedAt = fromMicros(createdAt)
	return &c, nil
}

// CreateChirp stores the chirp and its tag rows in one transaction.
func (s *ChirpStore) CreateChirp(ctx context.Context, c *chirper.Chirp) error {
	_, err := s.CreateChirps(ctx, []*chirper.Chirp{c}, 0)
	return err
}

// CreateChirps stores the chirps and their tag rows, and reserves ids, in
// one transaction: one commit, and so one sync of the write-ahead log, for
// all of them. The chirps get their ids and authors only once the commit
// succeeded.
func (s *ChirpStore) CreateChirps(ctx context.Context, chirps []*chirper.Chirp, reserve int) ([]int64, error) {
	insertChirp, err := s.db.stmt(ctx, `
		INSERT INTO chirps (id, author_id, message, tags, created_at)
		VALUES (?, ?, ?, ?, ?)
		RETURNING id, (SELECT username FROM users WHERE id = author_id)`)
	if err != nil {
		return nil, translate(err)
	}
	insertTags, err := s.db.stmt(ctx, `
		INSERT INTO chirp_tags (tag, chirp_id)
		SELECT value, ? FROM json_each(?)`)
	if err != nil {
		return nil, translate(err)
	}
	// The search index takes the whole batch in one statement: FTS5 writes
	// a segment at each statement that changes it (migration 00006).
	index, err := s.db.stmt(ctx, `
		INSERT INTO chirps_fts (rowid, message)
		SELECT id, message FROM chirps WHERE id IN (SELECT value FROM json_each(?))`)
	if err != nil {
		return nil, translate(err)
	}
	createdAt := now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	defer tx.Rollback()
	insertChirp, insertTags, index = tx.StmtContext(ctx, insertChirp), tx.StmtContext(ctx, insertTags), tx.StmtContext(ctx, index)
	ids := make([]int64, len(chirps))
	authors := make([]string, len(chirps))
	for i, c := range chirps {
		tags, err := jsonArray(c.Tags)
		if err != nil {
			return nil, err
		}
		err = insertChirp.QueryRowContext(ctx,
			sql.NullInt64{Int64: c.ID, Valid: c.ID != 0}, c.AuthorID, c.Message, tags, micros(createdAt),
		).Scan(&ids[i], &authors[i])
		if chirper.ErrorCode(translate(err)) == chirper.ENOTFOUND {
			return nil, chirper.Errorf(chirper.ENOTFOUND, "author not found")
		}
		if err != nil {
			return nil, translate(err)
		}
		if _, err := insertTags.ExecContext(ctx, ids[i], tags); err != nil {
			return nil, translate(err)
		}
	}
	batch, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	if _, err := index.ExecContext(ctx, string(batch)); err != nil {
		return nil, translate(err)
	}
	reserved, err := reserveIDs(ctx, tx, reserve)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return nil, translate(err)
	}
	for i, c := range chirps {
		c.ID, c.Author, c.CreatedAt = ids[i], authors[i], createdAt
	}
	return reserved, nil
}

// ReserveChirpIDs moves the table's AUTOINCREMENT counter on by n, in a
// write transaction: SQLite never gives those ids to another chirp.
func (s *ChirpStore) ReserveChirpIDs(ctx context.Context, n int) ([]int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	defer tx.Rollback()
	ids, err := reserveIDs(ctx, tx, n)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return nil, translate(err)
	}
	return ids, nil
}

// reserveIDs moves the chirps' AUTOINCREMENT counter on by n within tx.
func reserveIDs(ctx context.Context, tx *sql.Tx, n int) ([]int64, error) {
	if n == 0 {
		return nil, nil
	}
	var last int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO sqlite_sequence (name, seq)
		SELECT 'chirps', ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'chirps')
		RETURNING seq`, n).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.QueryRowContext(ctx,
			`UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'chirps' RETURNING seq`, n).Scan(&last)
	}
	if err != nil {
		return nil, err
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = last - int64(n) + 1 + int64(i)
	}
	return ids, nil
}

// FindChirpByID returns the chirp with the id.
func (s *ChirpStore) FindChirpByID(ctx context.Context, id int64) (*chirper.Chirp, error) {
	return scanChirp(s.db.queryRow(ctx, `
		SELECT `+chirpColumns+`
		FROM chirps c JOIN users u ON u.id = c.author_id
		WHERE c.id = ?`, id))
}

// FindChirpsByIDs returns the chirps with the ids, in increasing id order.
func (s *ChirpStore) FindChirpsByIDs(ctx context.Context, ids []int64) ([]*chirper.Chirp, error) {
	list, err := jsonArray(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT `+chirpColumns+`
		FROM chirps c JOIN users u ON u.id = c.author_id
		WHERE c.id IN (SELECT value FROM json_each(?))
		ORDER BY c.id`, list)
	if err != nil {
		return nil, translate(err)
	}
	return scanChirps(rows, len(ids))
}

// DeleteChirp removes the chirp; its tag rows go by cascade.
func (s *ChirpStore) DeleteChirp(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM chirps WHERE id = ?`, id)
	return expectOneRow(res, err, "chirp not found")
}

// ListChirps returns one page of chirps, newest first, walking the primary
// key (or the author index) backwards from the cursor.
func (s *ChirpStore) ListChirps(ctx context.Context, f chirper.ChirpFilter) (*chirper.ChirpPage, error) {
	conds, args, err := conditions(f)
	if err != nil {
		return nil, err
	}
	if f.BeforeID > 0 {
		conds = append(conds, "c.id < ?")
		args = append(args, f.BeforeID)
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT `+chirpColumns+`
		FROM chirps c JOIN users u ON u.id = c.author_id
		`+where(conds)+`
		ORDER BY c.id DESC LIMIT ?`, append(args, f.Limit+1)...)
	if err != nil {
		return nil, translate(err)
	}
	chirps, err := scanChirps(rows, f.Limit+1)
	if err != nil {
		return nil, err
	}
	return chirper.NewChirpPage(chirps, f.Limit), nil
}

// scanChirps reads every row of rows, and closes them.
func scanChirps(rows *sql.Rows, capacity int) ([]*chirper.Chirp, error) {
	defer rows.Close()
	chirps := make([]*chirper.Chirp, 0, capacity)
	for rows.Next() {
		c, err := scanChirp(rows)
		if err != nil {
			return nil, err
		}
		chirps = append(chirps, c)
	}
	return chirps, translate(rows.Err())
}

// CountChirps returns how many chirps match f.
func (s *ChirpStore) CountChirps(ctx context.Context, f chirper.ChirpFilter) (int64, error) {
	conds, args, err := conditions(f)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM chirps c `+where(conds), args...).Scan(&n)
	return n, translate(err)
}

// conditions returns the filter's conditions on chirps aliased c, and their
// arguments; tag sets travel as one JSON array argument.
func conditions(f chirper.ChirpFilter) ([]string, []any, error) {
	var (
		conds []string
		args  []any
	)
	if f.Author != "" {
		conds = append(conds, "c.author_id = (SELECT id FROM users WHERE username = ?)")
		args = append(args, f.Author)
	}
	if !f.Since.IsZero() {
		conds = append(conds, "c.created_at >= ?")
		args = append(args, micros(f.Since))
	}
	if f.HomeOf != 0 {
		conds = append(conds, "c.author_id IN (SELECT followee_id FROM follows WHERE follower_id = ? UNION ALL SELECT ?)")
		args = append(args, f.HomeOf, f.HomeOf)
	}
	if len(f.Words) > 0 {
		// Each word quoted: FTS5 query syntax never applies.
		conds = append(conds, "c.id IN (SELECT rowid FROM chirps_fts WHERE chirps_fts MATCH ?)")
		args = append(args, `"`+strings.Join(f.Words, `" "`)+`"`)
	}
	if !f.Until.IsZero() {
		conds = append(conds, "c.created_at < ?")
		args = append(args, micros(f.Until))
	}
	if len(f.Tags) > 0 {
		tags, err := jsonArray(f.Tags)
		if err != nil {
			return nil, nil, err
		}
		if f.MatchAll {
			conds = append(conds, `(SELECT count(*) FROM chirp_tags t
				WHERE t.chirp_id = c.id AND t.tag IN (SELECT value FROM json_each(?))) = ?`)
			args = append(args, tags, len(f.Tags))
		} else {
			conds = append(conds, `c.id IN (SELECT chirp_id FROM chirp_tags
				WHERE tag IN (SELECT value FROM json_each(?)))`)
			args = append(args, tags)
		}
	}
	return conds, args, nil
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return "WHERE " + strings.Join(conds, " AND ")
}

// jsonArray is a list as one JSON array argument (json_each reads it).
func jsonArray[T any](s []T) (string, error) {
	if s == nil {
		s = []T{}
	}
	b, err := json.Marshal(s)
	return string(b), err
}
