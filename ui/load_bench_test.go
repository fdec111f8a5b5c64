package ui

import (
	"os"
	"path/filepath"
	"testing"

	mphoto "github.com/hearth-home/hearth/media/photo"
)

func BenchmarkLoadPhoto1080p(b *testing.B) {
	p := filepath.Join(b.TempDir(), "p.jpg")
	if err := os.WriteFile(p, mphoto.GenerateTestJPEG(1920, 1080, 88), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := loadPhoto(p); err != nil {
			b.Fatal(err)
		}
	}
}
