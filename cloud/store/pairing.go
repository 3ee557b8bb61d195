package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"swarmbox/media"
)

// Pairing a box to a household, after OAuth 2.0's device authorization grant (RFC 8628): a box
// registers its keys with no account and shows a short code; a signed-in household (or the
// operator) enters the code, which binds the box to the household's account. A box the factory
// prepares instead presents a one-time enrollment token the operator made for the order's
// account. (migrations/0009_box_pairing.sql)
//
// An unpaired box belongs to the account Unpaired: a row with the empty id, closed, in no
// region. It keeps the boxes table's foreign key and NOT NULL account intact on both engines,
// sells nothing (a closed account is refused by every sale), and is never planned (Regions
// leaves it out). No customer can sign in as it or create it: account ids are never empty.

// Unpaired is the account of a box no household has paired yet.
const Unpaired = ""

// Pairing codes: RFC 8628 §6.1's unambiguous alphabet of 20 consonants (no vowels, so no words;
// no 0/O, 1/I), 8 of them shown as XXXX-XXXX: 20⁸ ≈ 2.56·10¹⁰ codes. See docs/architecture.md
// for why guessing one is infeasible under the attempt limits below.
const (
	CodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	codeLen      = 8
	// CodeTTL is how long a pairing code lasts.
	CodeTTL = 15 * time.Minute
	// PairingAttemptWindow, PairingAttemptsPerAccount and PairingAttemptsPerAddress bound the
	// wrong codes a household may enter: at most that many wrong codes per account, and per
	// source address, in any window; past them every attempt is refused until old ones age out.
	PairingAttemptWindow      = time.Hour
	PairingAttemptsPerAccount = 10
	PairingAttemptsPerAddress = 20
)

// Pairing errors.
var (
	ErrBadCode         = errors.New("no box shows this pairing code (it may have expired): check the code on the TV")
	ErrTooManyAttempts = errors.New("too many wrong pairing codes: wait an hour and try again")
	ErrEnrollRefused   = errors.New("the enrollment token is unknown, used up or expired: ask the operator for a new one")
	ErrAlreadyPaired   = errors.New("the box is paired to a household already: unpair it first")
	ErrNotPaired       = errors.New("the box is not paired to any household")
)

// NewPairingCode returns a random code, XXXX-XXXX, drawn uniformly from CodeAlphabet.
func NewPairingCode() (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < codeLen+1 {
		if b.Len() == codeLen/2 {
			b.WriteByte('-')
			continue
		}
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		if int(buf[0]) >= 256/len(CodeAlphabet)*len(CodeAlphabet) {
			continue // rejection keeps the draw uniform
		}
		b.WriteByte(CodeAlphabet[int(buf[0])%len(CodeAlphabet)])
	}
	return b.String(), nil
}

// NormalizeCode turns what a household typed (any case, with or without the dash or spaces)
// into the XXXX-XXXX form, or says it cannot be a code.
func NormalizeCode(s string) (string, bool) {
	if len(s) > 32 {
		return "", false
	}
	var out []byte
	for _, c := range []byte(strings.ToUpper(s)) {
		switch {
		case c == '-' || c == ' ':
		case strings.IndexByte(CodeAlphabet, c) >= 0:
			out = append(out, c)
		default:
			return "", false
		}
	}
	if len(out) != codeLen {
		return "", false
	}
	return string(out[:codeLen/2]) + "-" + string(out[codeLen/2:]), true
}

// PairingCode is the code a box shows, and until when it lasts.
type PairingCode struct {
	Code    string
	Expires time.Time
}

// BoxPairingCode returns the code an unpaired box shows: the one it has while that lasts (so a
// box asking again shows the same), else, or when fresh, a new one. A paired box has none:
// ErrAlreadyPaired.
func (s *Store) BoxPairingCode(ctx context.Context, box media.BoxID, now time.Time, fresh bool) (PairingCode, error) {
	var pc PairingCode
	err := s.tx(ctx, func(tx *tx) error {
		var acct string
		err := tx.QueryRowContext(ctx, `SELECT account FROM boxes WHERE id = ?`, box.String()).Scan(&acct)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("box %s: %w", box, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if acct != Unpaired {
			return ErrAlreadyPaired
		}
		var exp int64
		err = tx.QueryRowContext(ctx, `SELECT code, expires FROM pairing_codes WHERE box = ?`, box.String()).Scan(&pc.Code, &exp)
		if err == nil && !fresh && exp > now.Add(time.Minute).UnixMilli() {
			pc.Expires = time.UnixMilli(exp).UTC()
			return nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pairing_codes WHERE box = ? OR expires <= ?`, box.String(), now.UnixMilli()); err != nil {
			return err
		}
		for range 5 { // a clash with a live code is rare (live codes / 20⁸); draw again
			if pc.Code, err = NewPairingCode(); err != nil {
				return err
			}
			pc.Expires = now.Add(CodeTTL).UTC().Truncate(time.Millisecond)
			res, err := tx.ExecContext(ctx, `INSERT INTO pairing_codes (code, box, expires) VALUES (?, ?, ?) ON CONFLICT (code) DO NOTHING`,
				pc.Code, box.String(), pc.Expires.UnixMilli())
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err == nil && n == 1 {
				return nil
			}
		}
		return errors.New("could not draw an unused pairing code: try again")
	})
	return pc, err
}

// PairRequest is a household's or the operator's entry of a box's pairing code.
type PairRequest struct {
	Code    string
	Account string // the household the box is to belong to
	By      string // who entered it, for the audit: "browser", "operator"
	Source  string // the request's source address ("" for the operator's command)
	// Limited applies the wrong-code limits (per account and per Source); the operator's
	// command is not limited.
	Limited bool
	Now     time.Time
}

// PairByCode pairs the box showing the code to the account, which must be active. The code is
// used up. Wrong codes count against the limits when Limited; every outcome goes to the audit.
func (s *Store) PairByCode(ctx context.Context, p PairRequest) (media.BoxID, error) {
	var box media.BoxID
	keys := []string{"acct:" + p.Account, "addr:" + p.Source}
	if p.Limited {
		for i, limit := range []int{PairingAttemptsPerAccount, PairingAttemptsPerAddress} {
			var n int
			if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pairing_failures WHERE key = ? AND at > ?`,
				keys[i], p.Now.Add(-PairingAttemptWindow).UnixMilli()).Scan(&n); err != nil {
				return box, err
			}
			if n >= limit {
				return box, ErrTooManyAttempts
			}
		}
	}
	code, ok := NormalizeCode(p.Code)
	err := s.tx(ctx, func(tx *tx) error {
		a, err := account(ctx, tx, p.Account)
		if err != nil {
			return err
		}
		if a.ID == Unpaired || a.Status != StatusActive {
			return fmt.Errorf("%w (%s): a closed or suspended account cannot pair a box", ErrAccountInactive, a.Status)
		}
		if !ok {
			return ErrBadCode
		}
		var id string
		err = tx.QueryRowContext(ctx, `SELECT c.box FROM pairing_codes c JOIN boxes b ON b.id = c.box
			WHERE c.code = ? AND c.expires > ? AND b.account = ?`, code, p.Now.UnixMilli(), Unpaired).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrBadCode
		}
		if err != nil {
			return err
		}
		if box, err = media.ParseBoxID(id); err != nil {
			return err
		}
		return pairIn(ctx, tx, box, p.Account, "code entered by the "+p.By, p.Source, p.Now)
	})
	if errors.Is(err, ErrBadCode) || errors.Is(err, ErrAccountInactive) {
		if errors.Is(err, ErrBadCode) && p.Limited {
			for _, k := range keys {
				if ferr := s.addPairingFailure(ctx, k, p.Now); ferr != nil {
					return box, ferr
				}
			}
		}
		if aerr := s.Audit(ctx, AuditEntry{At: p.Now, Account: p.Account, Kind: "pair", Outcome: AuditRefused,
			Reason: err.Error(), Source: p.Source}); aerr != nil {
			return box, aerr
		}
	}
	return box, err
}

// addPairingFailure counts a wrong code against key, forgetting key's failures older than the
// window.
func (s *Store) addPairingFailure(ctx context.Context, key string, now time.Time) error {
	return s.tx(ctx, func(tx *tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pairing_failures WHERE key = ? AND at <= ?`, key, now.Add(-PairingAttemptWindow).UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO pairing_failures (key, at) VALUES (?, ?)`, key, now.UnixMilli())
		return err
	})
}

// pairIn binds an unpaired box to an account, drops its code and audits it.
func pairIn(ctx context.Context, q querier, box media.BoxID, acct, reason, source string, now time.Time) error {
	res, err := q.ExecContext(ctx, `UPDATE boxes SET account = ?, paired = ? WHERE id = ? AND account = ?`, acct, now.UnixMilli(), box.String(), Unpaired)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrAlreadyPaired
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM pairing_codes WHERE box = ?`, box.String()); err != nil {
		return err
	}
	return audit(ctx, q, AuditEntry{At: now, Box: box.String(), Account: acct, Kind: "pair", Outcome: AuditIssued, Reason: reason, Source: source})
}

// Unpair returns a box to no household. account, when not empty, is the household asking (the
// browser): a box it does not own is ErrNotFound, so no household learns of others' boxes. The
// operator passes "".
func (s *Store) Unpair(ctx context.Context, box media.BoxID, account, by, source string, now time.Time) error {
	return s.tx(ctx, func(tx *tx) error {
		var acct string
		err := tx.QueryRowContext(ctx, `SELECT account FROM boxes WHERE id = ?`, box.String()).Scan(&acct)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && account != "" && acct != account) {
			return fmt.Errorf("box %s: %w", box, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if acct == Unpaired {
			return ErrNotPaired
		}
		if _, err := tx.ExecContext(ctx, `UPDATE boxes SET account = ?, paired = 0 WHERE id = ?`, Unpaired, box.String()); err != nil {
			return err
		}
		return audit(ctx, tx, AuditEntry{At: now, Box: box.String(), Account: acct, Kind: "unpair", Outcome: AuditIssued,
			Reason: "unpaired by the " + by, Source: source})
	})
}

// PairedBoxes lists an account's boxes, the earliest paired first.
func (s *Store) PairedBoxes(ctx context.Context, account string) ([]Box, error) {
	if account == Unpaired {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM boxes WHERE account = ? ORDER BY paired, id`, account)
	if err != nil {
		return nil, err
	}
	var ids []media.BoxID
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		bid, err := media.ParseBoxID(id)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, bid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Box, 0, len(ids))
	for _, id := range ids {
		b, err := s.Box(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// CreateEnrollment makes a token that pairs up to uses boxes to the account as they register,
// until ttl has passed: what the factory gives a box it prepares for an order, and what test
// harnesses use. Only its hash is kept.
func (s *Store) CreateEnrollment(ctx context.Context, account string, uses int, ttl time.Duration, now time.Time) (string, error) {
	if uses <= 0 || ttl <= 0 {
		return "", errors.New("an enrollment token needs at least one use and a positive lifetime")
	}
	a, err := s.Account(ctx, account)
	if err != nil {
		return "", err
	}
	if a.ID == Unpaired || a.Status != StatusActive {
		return "", fmt.Errorf("%w (%s): a closed or suspended account cannot pair a box", ErrAccountInactive, a.Status)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	_, err = s.db.ExecContext(ctx, `INSERT INTO enrollments (token_hash, account, uses_left, expires) VALUES (?, ?, ?, ?)`,
		tokenHash(token), account, uses, now.Add(ttl).UnixMilli())
	return token, err
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte("swarmbox enrollment\x00" + token))
	return hex.EncodeToString(h[:])
}

// EnrollBox registers a box (as RegisterBox does, with b.Account ignored) and pairs it with the
// account of the enrollment token, using one of the token's uses, in one transaction. A box
// already paired stays as it is and uses nothing. A token unknown, used up or expired, or of an
// account no longer active, is ErrEnrollRefused: the answer says nothing of any account.
func (s *Store) EnrollBox(ctx context.Context, b Box, token, source string) (Box, error) {
	err := s.tx(ctx, func(tx *tx) error {
		b.Account = Unpaired
		if err := registerIn(ctx, tx, b); err != nil {
			return err
		}
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT account FROM boxes WHERE id = ?`, b.ID.String()).Scan(&cur); err != nil {
			return err
		}
		if cur != Unpaired {
			return nil
		}
		var acct string
		err := tx.QueryRowContext(ctx, `SELECT e.account FROM enrollments e JOIN accounts a ON a.id = e.account
			WHERE e.token_hash = ? AND e.uses_left > 0 AND e.expires > ? AND a.status = ?`,
			tokenHash(token), b.Registered.UnixMilli(), StatusActive).Scan(&acct)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrEnrollRefused
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE enrollments SET uses_left = uses_left - 1 WHERE token_hash = ?`, tokenHash(token)); err != nil {
			return err
		}
		return pairIn(ctx, tx, b.ID, acct, "enrollment token", source, b.Registered)
	})
	if err != nil {
		return Box{}, err
	}
	return s.Box(ctx, b.ID)
}

// PairingLog returns an account's newest pairings and unpairings (and refused pairing codes),
// newest first, from the audit log.
func (s *Store) PairingLog(ctx context.Context, account string, limit int) ([]AuditEntry, error) {
	return s.auditQuery(ctx, `SELECT id, at, box, account, item, kind, outcome, reason, source, license
		FROM audit WHERE account = ? AND kind IN ('pair', 'unpair') ORDER BY id DESC LIMIT ?`, account, limit)
}
