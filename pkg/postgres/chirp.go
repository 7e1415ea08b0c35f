package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.ChirpStore = (*ChirpStore)(nil)

// ChirpStore keeps chirps in PostgreSQL. Tags live twice: as an array on the
// chirp, so that a chirp comes back whole in one row, and as chirp_tags rows,
// whose primary key (tag, chirp_id) serves the newest page of a tag.
type ChirpStore struct {
	db        *DB
	announcer *announcer
}

// NewChirpStore returns a ChirpStore on db. Close sends the last
// announcements of new chirps.
func NewChirpStore(db *DB) *ChirpStore { return &ChirpStore{db: db, announcer: newAnnouncer(db)} }

// Close announces the new chirps not yet announced, and returns when they
// are; chirps stored after it are announced before CreateChirps returns.
// Call it before the pool closes.
func (s *ChirpStore) Close() { s.announcer.close() }

const chirpColumns = `c.id, c.author_id, u.username, c.message, c.tags, c.created_at`

func scanChirp(row interface{ Scan(...any) error }) (*chirper.Chirp, error) {
	var c chirper.Chirp
	err := row.Scan(&c.ID, &c.AuthorID, &c.Author, &c.Message, (*pq.StringArray)(&c.Tags), &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chirper.Errorf(chirper.ENOTFOUND, "chirp not found")
	}
	if err != nil {
		return nil, translate(err)
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return &c, nil
}

// CreateChirp stores the chirp and its tag rows in one statement.
func (s *ChirpStore) CreateChirp(ctx context.Context, c *chirper.Chirp) error {
	_, err := s.CreateChirps(ctx, []*chirper.Chirp{c}, 0)
	return err
}

// CreateChirps stores the chirps and their tag rows, and reserves ids, in
// one call of chirper_create_chirps (migrations 00012 and 00014: a
// function, so that its plan is made once per connection). The returned
// rows map back to the input by their ordinal; those of ordinal 0 are the
// reserved ids. The other processes are told of the new chirps a moment
// later (announcer).
func (s *ChirpStore) CreateChirps(ctx context.Context, chirps []*chirper.Chirp, reserve int) ([]int64, error) {
	if len(chirps) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(chirps))
	authors := make([]int64, len(chirps))
	messages := make([]string, len(chirps))
	tags := make([]string, len(chirps))
	for i, c := range chirps {
		if c.Tags == nil {
			c.Tags = []string{}
		}
		b, err := json.Marshal(c.Tags)
		if err != nil {
			return nil, err
		}
		ids[i], authors[i], messages[i], tags[i] = c.ID, c.AuthorID, c.Message, string(b)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT ord, id, username, created_at FROM chirper_create_chirps($1, $2, $3, $4, $5)`,
		pq.Array(authors), pq.Array(messages), pq.Array(tags), pq.Array(ids), reserve)
	if err != nil {
		return nil, translateCreate(err)
	}
	defer rows.Close()
	stored := make([]chirper.Chirp, len(chirps))
	reserved := make([]int64, 0, reserve)
	n := 0
	for rows.Next() {
		var ord int
		var id int64
		var author sql.Null[string]
		var createdAt sql.Null[time.Time]
		if err := rows.Scan(&ord, &id, &author, &createdAt); err != nil {
			return nil, translateCreate(err)
		}
		if ord == 0 {
			reserved = append(reserved, id)
			continue
		}
		stored[ord-1] = chirper.Chirp{ID: id, Author: author.V, CreatedAt: createdAt.V.UTC()}
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, translateCreate(err)
	}
	if n != len(chirps) || len(reserved) != reserve {
		return nil, fmt.Errorf("postgres: stored %d of %d chirps and reserved %d of %d ids", n, len(chirps), len(reserved), reserve)
	}
	for i, c := range chirps {
		c.ID, c.Author, c.CreatedAt = stored[i].ID, stored[i].Author, stored[i].CreatedAt
		ids[i] = c.ID // now for the announcement
	}
	s.announcer.add(ids)
	return reserved, nil
}

// ReserveChirpIDs draws n ids from the chirps' identity sequence, which
// never gives them out again.
func (s *ChirpStore) ReserveChirpIDs(ctx context.Context, n int) ([]int64, error) {
	var ids []int64
	err := s.db.QueryRowContext(ctx,
		`SELECT array_agg(nextval(pg_get_serial_sequence('chirps', 'id'))) FROM generate_series(1, $1)`, n,
	).Scan((*pq.Int64Array)(&ids))
	if err != nil {
		return nil, translate(err)
	}
	return ids, nil
}

// translateCreate names the missing author of a failed insert.
func translateCreate(err error) error {
	err = translate(err)
	if chirper.ErrorCode(err) == chirper.ENOTFOUND {
		return chirper.Errorf(chirper.ENOTFOUND, "author not found")
	}
	return err
}

// FindChirpByID returns the chirp with the id.
func (s *ChirpStore) FindChirpByID(ctx context.Context, id int64) (*chirper.Chirp, error) {
	// The author's name is a lookup of its own rather than a join, with
	// which the planner hashed the whole users table of a small site to
	// find one row (pgbench, 16 clients, 1,000,000 chirps by 100 users:
	// 20 to 35 % more reads a second).
	return scanChirp(s.db.QueryRowContext(ctx, `
		SELECT c.id, c.author_id, (SELECT u.username FROM users u WHERE u.id = c.author_id), c.message, c.tags, c.created_at
		FROM chirps c
		WHERE c.id = $1`, id))
}

// FindChirpsByIDs returns the chirps with the ids, in increasing id order.
// The function keeps its plan for the connection's life (migration 00015).
func (s *ChirpStore) FindChirpsByIDs(ctx context.Context, ids []int64) ([]*chirper.Chirp, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, author_id, username, message, tags, created_at
		FROM chirper_find_chirps($1::bigint[])
		ORDER BY id`, pq.Array(ids))
	if err != nil {
		return nil, translate(err)
	}
	return scanChirps(rows, len(ids))
}

// DeleteChirp removes the chirp; its tag rows go by cascade.
func (s *ChirpStore) DeleteChirp(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM chirps WHERE id = $1`, id)
	return expectOneRow(res, err, "chirp not found")
}

// ListChirps returns one page of chirps, newest first.
//
// With tags, each wanted tag's newest matching chirps are read from the
// chirp_tags primary key (at most a page per tag, in a LATERAL subquery) and
// the union is cut to a page, so the cost does not grow with the number of
// chirps that carry the tag. With match=all the rarest tag cannot be known
// cheaply; the first tag drives the scan and the array holds the rest.
func (s *ChirpStore) ListChirps(ctx context.Context, f chirper.ChirpFilter) (*chirper.ChirpPage, error) {
	var q query
	limit := q.arg(f.Limit + 1)
	var sqlText string
	switch {
	case len(f.Tags) == 0 && f.HomeOf != 0:
		sqlText = homeTimeline(&q, f, limit)
	case len(f.Tags) == 0:
		conds := q.conditions("c", f)
		if f.BeforeID > 0 {
			conds = append(conds, "c.id < "+q.arg(f.BeforeID))
		}
		sqlText = `
			SELECT ` + chirpColumns + `
			FROM chirps c JOIN users u ON u.id = c.author_id
			` + where(conds) + `
			ORDER BY c.id DESC LIMIT ` + limit
		if len(f.Words) > 0 {
			sqlText = searchNewest(&q, f, conds, limit)
		}
	default:
		conds := q.conditions("c2", f)
		from := "chirp_tags ct"
		if len(conds) > 0 { // only then is the chirp row needed
			from += " JOIN chirps c2 ON c2.id = ct.chirp_id"
		}
		conds = append(conds, "ct.tag = q.tag")
		if f.BeforeID > 0 {
			conds = append(conds, "ct.chirp_id < "+q.arg(f.BeforeID))
		}
		sqlText = `
			SELECT ` + chirpColumns + `
			FROM chirps c JOIN users u ON u.id = c.author_id
			WHERE c.id IN (
				SELECT p.chirp_id
				FROM unnest(` + q.arg(pq.StringArray(drivingTags(f))) + `::text[]) AS q(tag)
				CROSS JOIN LATERAL (
					SELECT ct.chirp_id
					FROM ` + from + `
					` + where(conds) + `
					ORDER BY ct.chirp_id DESC LIMIT ` + limit + `
				) p
			)
			ORDER BY c.id DESC LIMIT ` + limit
	}
	rows, err := s.db.QueryContext(ctx, sqlText, q.args...)
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

// fewFollows is how many users a reader may follow at most for their
// timeline to be read author by author.
const fewFollows = 100

// homeTimeline is the statement of a home timeline's page without tags.
// The page's ids are found first, from indexes alone, and only its rows
// are read. For a reader who follows few, each followed author's newest
// matching ids come from chirps (author_id, id) and are merged; for one
// who follows many, the newest ids are walked in chirps (id) INCLUDE
// (author_id) with the follows hashed (reading 1,000 authors took 120 ms).
// The caller's count of the follows (f.FollowingCount) chooses the plan,
// and the follows themselves are read in the statement, so a count a
// moment old can slow a page but never change it. At 1,000,000 chirps by
// 10,000 users (EXPLAIN ANALYZE) this reads a reader of 10's page in
// 1.7-2.6 ms and a reader of 1,000's in 4 ms, where a tag page takes
// 2-2.5 ms; the rows-first statements took 5.6-8 ms and 9-12 ms. Under
// pgbench (16 clients, parameters bound as Chirper binds them), one plan
// chosen so served 1.4-1.7 times the pages of a statement holding both
// plans behind a probe that counted the follows.
func homeTimeline(q *query, f chirper.ChirpFilter, limit string) string {
	// Each piece takes its arguments as it is written: a statement must
	// use every argument it has.
	var ids string
	if f.FollowingCount > fewFollows {
		conds := q.conditions("w", f)
		if f.BeforeID > 0 {
			conds = append(conds, "w.id < "+q.arg(f.BeforeID))
		}
		ids = `SELECT w.id FROM chirps w ` + where(conds) + ` ORDER BY w.id DESC LIMIT ` + limit
	} else {
		me := q.arg(f.HomeOf)
		inner := f
		inner.HomeOf = 0
		conds := append(q.conditions("a", inner), "a.author_id = f.id")
		if f.BeforeID > 0 {
			conds = append(conds, "a.id < "+q.arg(f.BeforeID))
		}
		// VALUES, not SELECT $n: with the reader as a parameter, the
		// statement then took less than half the time under pgbench.
		ids = `SELECT p.id FROM (SELECT followee_id AS id FROM follows WHERE follower_id = ` + me + ` UNION ALL VALUES (` + me + `::bigint)) f
			CROSS JOIN LATERAL (
				SELECT a.id FROM chirps a ` + where(conds) + ` ORDER BY a.id DESC LIMIT ` + limit + `
			) p ORDER BY p.id DESC LIMIT ` + limit
	}
	return `SELECT ` + chirpColumns + ` FROM chirps c JOIN users u ON u.id = c.author_id
		WHERE c.id IN (` + ids + `)
		ORDER BY c.id DESC LIMIT ` + limit
}

// oneOfTwo is a page's statement that runs one of two plans, as the
// probe among ctes says (its one row's n): up to most, the page is read
// from small (a FROM item naming chirps c) with the small conditions; above,
// by walking the newest chirps with conds. The other plan's one-time filter
// is false, so it never runs.
func oneOfTwo(ctes string, most int, small string, smallConds, conds []string, limit string) string {
	n := "(SELECT n FROM probe)"
	cut := strconv.Itoa(most)
	page := func(from string, conds []string) string {
		return `(SELECT ` + chirpColumns + ` FROM ` + from + ` JOIN users u ON u.id = c.author_id
			` + where(conds) + ` ORDER BY c.id DESC LIMIT ` + limit + `)`
	}
	return `
		WITH ` + ctes + `
		SELECT * FROM (
			` + page(small, append(append([]string{n + " <= " + cut}, smallConds...), conds...)) + `
			UNION ALL
			` + page("chirps c", append([]string{n + " > " + cut}, conds...)) + `
		) page
		ORDER BY id DESC LIMIT ` + limit
}

// rareMatches is how many chirps a search may match at most for its page
// to be read through the GIN index; with more, the newest chirps are walked.
const rareMatches = 1000

// searchNewest is the statement of a search's page without tags. Walking
// the newest chirps finds a common word's page at once but reads the whole
// table for a rare word, whose matches the GIN index lists at once; and
// PostgreSQL has no statistics for a rare word to choose between them (it
// walked 1,000,000 chirps for a word in one). So a probe counts the
// matches, up to rareMatches, and a one-time filter runs one branch:
// below, the matches are read first and sorted; at or above, the newest
// chirps are walked.
func searchNewest(q *query, f chirper.ChirpFilter, conds []string, limit string) string {
	tsq := "plainto_tsquery('simple', " + q.arg(strings.Join(f.Words, " ")) + ")"
	return oneOfTwo(`probe AS MATERIALIZED (
			SELECT count(*) AS n FROM (SELECT 1 FROM chirps WHERE search @@ `+tsq+` LIMIT `+strconv.Itoa(rareMatches)+`) s
		), matches AS MATERIALIZED (SELECT id FROM chirps WHERE search @@ `+tsq+`)`,
		rareMatches-1, "matches m JOIN chirps c ON c.id = m.id", nil, conds, limit)
}

// CountChirps returns how many chirps match f.
func (s *ChirpStore) CountChirps(ctx context.Context, f chirper.ChirpFilter) (int64, error) {
	var q query
	conds := q.conditions("c", f)
	if len(f.Tags) > 0 {
		conds = append(conds, "c.id IN (SELECT chirp_id FROM chirp_tags WHERE tag = ANY("+
			q.arg(pq.StringArray(drivingTags(f)))+"::text[]))")
	}
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM chirps c `+where(conds), q.args...).Scan(&n)
	return n, translate(err)
}

// drivingTags are the tags whose chirp_tags rows are read: all of them for
// match=any, the first for match=all (conditions checks the others).
func drivingTags(f chirper.ChirpFilter) []string {
	if f.MatchAll {
		return f.Tags[:1]
	}
	return f.Tags
}

// query collects the arguments of a statement built from fixed fragments.
type query struct {
	args []any
}

// arg adds an argument and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// conditions returns the filter's conditions on the chirps table aliased as
// alias, other than the tags that drive the scan and the cursor.
func (q *query) conditions(alias string, f chirper.ChirpFilter) []string {
	var conds []string
	if f.Author != "" {
		conds = append(conds, alias+".author_id = (SELECT id FROM users WHERE username = "+q.arg(f.Author)+")")
	}
	if !f.Since.IsZero() {
		conds = append(conds, alias+".created_at >= "+q.arg(f.Since))
	}
	if !f.Until.IsZero() {
		conds = append(conds, alias+".created_at < "+q.arg(f.Until))
	}
	if f.MatchAll && len(f.Tags) > 1 {
		conds = append(conds, alias+".tags @> "+q.arg(pq.StringArray(f.Tags))+"::text[]")
	}
	if len(f.Words) > 0 {
		conds = append(conds, alias+".search @@ plainto_tsquery('simple', "+q.arg(strings.Join(f.Words, " "))+")")
	}
	if f.HomeOf != 0 {
		// An OR keeps the follows out of a join: PostgreSQL hashes them once
		// (a hashed SubPlan) and walks the newest chirps. As a semi-join it
		// compared each chirp with every follow (665 ms for a reader of
		// 1,000 at 1M chirps; this form takes 9 ms).
		me := q.arg(f.HomeOf)
		conds = append(conds, "("+alias+".author_id IN (SELECT followee_id FROM follows WHERE follower_id = "+me+") OR "+alias+".author_id = "+me+")")
	}
	return conds
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return "WHERE " + strings.Join(conds, " AND ")
}
