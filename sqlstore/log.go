package sqlstore

import (
	"log/slog"
	"time"

	"github.com/mcpsession/mcpsession/dialects"
)

const slogInfo = slog.LevelInfo

func attrDialect(d dialects.Dialect) slog.Attr { return slog.String("dialect", d.Name()) }

func attrDuration(d time.Duration) slog.Attr { return slog.Duration("duration", d) }
