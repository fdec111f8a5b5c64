package status

import (
	"fmt"

	"github.com/hearth-home/hearth/sync/proto"
)

// MinFree is the free space below which a device needs a person: photos
// stop arriving and the database cannot grow.
const MinFree = 200 << 20

// Alert says why the device needs a person, from its heartbeat, or "".
func Alert(h proto.Heartbeat) string {
	if s := h.Storage; s.Used+s.Free > 0 && s.Free < MinFree {
		return fmt.Sprintf("storage nearly full: %d MiB free", s.Free>>20)
	}
	return ""
}
