package ui

import (
	"fmt"
	"strings"
	"time"

	"swarmbox/firmware/boxbus"
	"swarmbox/vocab"
)

// owned says whether the household owns the title (bought, not rented): such a title is never
// offered for sale again, even when its licence has lapsed (the box renews it).
func owned(it boxbus.Item) bool { return it.LicenceKind == "owned" }

// licenceText says how long a bought title plays and, for an owned one, how its licence stands:
// renewed by the box on its own, or refused renewal by the operator (and why, in a sentence).
func licenceText(it boxbus.Item, now time.Time) string {
	if it.Expires == 0 {
		return ""
	}
	end := time.Unix(it.Expires, 0)
	if !owned(it) {
		return "rental, " + vocab.TimeLeft(end.Sub(now))
	}
	if it.RenewalRefused != "" {
		return fmt.Sprintf("plays until %s: the operator refused to renew it (%s)", end.Format("2 Jan 15:04"), refusalSentence(it.RenewalRefused))
	}
	return "the box renews its licence by " + end.Format("2 Jan")
}

// lapsedText explains an owned title whose licence has run out.
func lapsedText(it boxbus.Item) string {
	if it.RenewalRefused != "" {
		return "yours, but the operator refused to renew its licence (" + refusalSentence(it.RenewalRefused) + "); call the operator"
	}
	return "yours; its licence lapsed while the box could not reach the operator, and is renewed when it can"
}

// refusalSentence is the head-end's sentence of a refusal "code: sentence".
func refusalSentence(r string) string {
	if _, s, ok := strings.Cut(r, ": "); ok {
		return s
	}
	return r
}
