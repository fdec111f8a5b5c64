package ui

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// tenPx measures every rune as 10 units wide.
func tenPx(s string) float32 { return float32(10 * utf8.RuneCountInString(s)) }

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		width      float32
		want       []string
	}{
		{"fits", "hello world", 200, []string{"hello world"}},
		{"breaks at spaces", "the quick brown fox", 100, []string{"the quick", "brown fox"}},
		{"collapses spaces", "a   b \t c", 100, []string{"a b c"}},
		{"keeps line breaks", "one\ntwo", 200, []string{"one", "two"}},
		{"one blank line between paragraphs", "one\n\n\n\ntwo\n\n", 200, []string{"one", "", "two"}},
		{"splits long words", "abcdefghijklmnop xy", 50, []string{"abcde", "fghij", "klmno", "p xy"}},
		{"runes not bytes", "ääääää", 30, []string{"äää", "äää"}},
		{"empty", "  ", 100, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := wrap(tc.text, tc.width, tenPx)
			if !slices.Equal(got, tc.want) {
				t.Errorf("wrap(%q, %v) = %q, want %q", tc.text, tc.width, got, tc.want)
			}
			for _, l := range got {
				if tenPx(l) > tc.width {
					t.Errorf("line %q is %v wide, want <= %v", l, tenPx(l), tc.width)
				}
			}
		})
	}
}

func TestClip(t *testing.T) {
	lines := []string{"one two", "three four", "five six"}
	got := clip(lines, 2, 100, tenPx)
	want := []string{"one two", "three…"}
	if !slices.Equal(got, want) {
		t.Errorf("clip = %q, want %q", got, want)
	}
	if got := clip(lines, 3, 100, tenPx); !slices.Equal(got, lines) {
		t.Errorf("clip(all) = %q, want unchanged", got)
	}
	if got := fitLine("abcdefghij", 50, tenPx); got != "abcd…" {
		t.Errorf("fitLine = %q, want abcd…", got)
	}
	// Trailing punctuation goes before the ellipsis: "tablets.…" reads badly.
	if got := withEllipsis("new tablets.", 200, tenPx); got != "new tablets…" {
		t.Errorf("withEllipsis = %q, want %q", got, "new tablets…")
	}
	if got := withEllipsis(strings.Repeat("x", 30), 5, tenPx); got != ellipsis {
		t.Errorf("withEllipsis(too narrow) = %q, want %q", got, ellipsis)
	}
}

func TestSentences(t *testing.T) {
	for _, text := range []string{
		"Hello. How are you? Fine!",
		"One line\nand another.\n\nA new one… with more",
		"No end",
		"Dr. Smith at 10.30. Bye.",
	} {
		got := sentences(text)
		if strings.Join(got, "") != text {
			t.Errorf("sentences(%q) = %q: joined, not the text", text, got)
		}
	}
	if got, want := sentences("Hello. How are you? Fine!"), []string{"Hello. ", "How are you? ", "Fine!"}; !slices.Equal(got, want) {
		t.Errorf("sentences = %q, want %q", got, want)
	}
}

// TestPageBySentence: pages end at a sentence's end; a sentence longer
// than a page is cut between lines; nothing is lost.
func TestPageBySentence(t *testing.T) {
	text := "Aaa bbb ccc. Ddd eee fff ggg. Hhh. " + strings.Repeat("x ", 25) + "end."
	pages := pageBySentence(text, 2, 100, tenPx)
	var all []string
	for i, p := range pages {
		if len(p) > 2 {
			t.Errorf("page %d has %d lines, want <= 2: %q", i, len(p), p)
		}
		all = append(all, p...)
	}
	if got, want := strings.Fields(strings.Join(all, " ")), strings.Fields(text); !slices.Equal(got, want) {
		t.Errorf("pages hold %q, want the text's words %q", got, want)
	}
	if last := pages[0][len(pages[0])-1]; !strings.HasSuffix(last, ".") {
		t.Errorf("page 0 ends %q, mid-sentence", last)
	}
	if first := pages[1][0]; !strings.HasPrefix(first, "Ddd") {
		t.Errorf("page 1 starts %q, want the second sentence", first)
	}
}
