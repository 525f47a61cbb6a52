package table

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A PostgreSQL table made in MySQL or MariaDB: each column's type mapped
// (MapToMySQL), text in utf8mb4 with the binary collation (keys then sort
// as bytes, as PostgreSQL's "C" sorts them, and comparisons stay case
// sensitive, as they were), the key, an integer key's identity or serial
// default as AUTO_INCREMENT, literal defaults, and the plain b-tree
// indexes over columns MySQL can index whole. Other defaults (function
// calls), expression and partial indexes and CHECK constraints are left
// out.

var (
	typmodRe     = regexp.MustCompile(`\((\d+)(?:,(\d+))?\)`)
	plainIndexRe = regexp.MustCompile(`^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING btree \(([^()]+)\)$`)
	pgLiteralRe  = regexp.MustCompile(`^'((?:[^']|'')*)'(::[a-z ]+(\([0-9, ]+\))?)?$`)
	pgNumberRe   = regexp.MustCompile(`^\(?-?\d+(\.\d+)?\)?(::[a-z ]+)?$`)
)

// mysqlMaxKeyChars is the longest text key MySQL indexes in utf8mb4
// (3072 bytes).
const mysqlMaxKeyChars = 768

// MapToMySQL is the MySQL type a PostgreSQL column becomes (key: it is
// part of the key), or an error naming the table and column when ferry
// does not map its type: the integers to their MySQL namesakes,
// numeric(p,s) to DECIMAL(p,s) (p at most 65), real to FLOAT, double
// precision to DOUBLE, varchar(n) and char(n) to VARCHAR(n) (char's
// padding kept as read), text to LONGTEXT (VARCHAR(768) in a key), bytea
// to LONGBLOB (VARBINARY(3072) in a key), boolean to BOOLEAN, date to
// DATE, timestamp(p) to DATETIME(p), timestamptz(p) to DATETIME(p) holding
// UTC (MySQL's TIMESTAMP ends in 2038), json and jsonb to JSON, uuid to
// CHAR(36).
func MapToMySQL(s *Schema, c Col, key bool) (string, error) {
	m := typmodRe.FindStringSubmatch(c.Type)
	n := func(def string) string {
		if m != nil {
			return m[1]
		}
		return def
	}
	const text = " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	switch c.DataType {
	case "int2":
		return "SMALLINT", nil
	case "int4":
		return "INT", nil
	case "int8":
		return "BIGINT", nil
	case "oid":
		return "INT UNSIGNED", nil
	case "numeric":
		if m == nil {
			return "", fmt.Errorf("table %s column %s: numeric without a precision has no MySQL type that holds every value (DECIMAL holds 65 digits); give the column a precision, or create the destination table yourself", s.Name, c.Name)
		}
		p, _ := strconv.Atoi(m[1])
		sc := m[2]
		if sc == "" {
			sc = "0"
		}
		if p > 65 {
			return "", fmt.Errorf("table %s column %s: %s has more digits than MySQL's DECIMAL holds (65); create the destination table yourself", s.Name, c.Name, c.Type)
		}
		return "DECIMAL(" + m[1] + "," + sc + ")", nil
	case "float4":
		return "FLOAT", nil
	case "float8":
		return "DOUBLE", nil
	case "varchar", "bpchar":
		if m == nil {
			if key {
				return "VARCHAR(" + strconv.Itoa(mysqlMaxKeyChars) + ")" + text, nil
			}
			return "LONGTEXT" + text, nil
		}
		if l, _ := strconv.Atoi(m[1]); key && l > mysqlMaxKeyChars || !key && l > 16383 {
			if key {
				return "", fmt.Errorf("table %s key column %s: %s is longer than MySQL indexes (%d characters of utf8mb4); create the destination table yourself", s.Name, c.Name, c.Type, mysqlMaxKeyChars)
			}
			return "LONGTEXT" + text, nil
		}
		return "VARCHAR(" + m[1] + ")" + text, nil
	case "text", "name", "citext":
		if key {
			return "VARCHAR(" + strconv.Itoa(mysqlMaxKeyChars) + ")" + text, nil
		}
		return "LONGTEXT" + text, nil
	case "bytea":
		if key {
			return "VARBINARY(3072)", nil
		}
		return "LONGBLOB", nil
	case "bool":
		return "BOOLEAN", nil
	case "date":
		return "DATE", nil
	case "timestamp", "timestamptz":
		return "DATETIME(" + n("6") + ")", nil
	case "json", "jsonb":
		return "JSON", nil
	case "uuid":
		return "CHAR(36) CHARACTER SET ascii COLLATE ascii_bin", nil
	}
	return "", fmt.Errorf("table %s column %s: type %s has no MySQL mapping in ferry (mapped: integers, numeric, real, double precision, char, varchar, text, bytea, boolean, date, timestamp, timestamptz, json, jsonb, uuid); create the destination table yourself or change the column",
		s.Name, c.Name, c.Type)
}

// createMySQL is the CREATE TABLE that makes PostgreSQL table src in
// MySQL.
func (m *mysqlDB) createMySQL(src *Schema) (string, error) {
	isKey := map[int]bool{}
	for _, k := range src.Key {
		isKey[k] = true
	}
	var defs []string
	whole := map[string]bool{} // columns an index may take whole
	for i, c := range src.Cols {
		typ, err := MapToMySQL(src, c, isKey[i])
		if err != nil {
			return "", err
		}
		def := m.ident(c.Name) + " " + typ
		if c.NotNull || isKey[i] {
			def += " NOT NULL"
		}
		serial := c.Identity != "" || strings.HasPrefix(c.Default, "nextval(")
		switch {
		case serial && len(src.Key) == 1 && isKey[i] && c.Kind == KNum:
			def += " AUTO_INCREMENT"
		case !serial:
			if d := pgDefaultToMySQL(c); d != "" {
				def += " DEFAULT " + d
			}
		}
		defs = append(defs, def)
		whole[c.Name] = !strings.HasPrefix(typ, "LONG") && typ != "JSON"
	}
	keyCols := make([]string, len(src.Key))
	for i, k := range src.Key {
		keyCols[i] = m.ident(src.Cols[k].Name)
	}
	defs = append(defs, "PRIMARY KEY ("+strings.Join(keyCols, ", ")+")")
	for _, ix := range src.Indexes {
		if !plainIndexRe.MatchString(ix.Def) || len(ix.Name) > 64 {
			continue
		}
		cols := make([]string, len(ix.Cols))
		ok := true
		for i, c := range ix.Cols {
			ok = ok && whole[c]
			cols[i] = m.ident(c)
		}
		if !ok {
			continue
		}
		kind := "KEY "
		if ix.Unique {
			kind = "UNIQUE KEY "
		}
		defs = append(defs, kind+m.ident(ix.Name)+" ("+strings.Join(cols, ", ")+")")
	}
	return "CREATE TABLE " + m.ident(src.Rel) + " (\n  " + strings.Join(defs, ",\n  ") + "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin", nil
}

// pgDefaultToMySQL carries a PostgreSQL column default that is a literal:
// a number, a string (its cast dropped), true or false. Other expressions
// are left out.
func pgDefaultToMySQL(c Col) string {
	d := strings.TrimSpace(c.Default)
	switch {
	case d == "" || strings.EqualFold(d, "NULL") || strings.HasPrefix(d, "NULL::"):
		return ""
	case d == "true" || d == "false":
		return map[string]string{"true": "1", "false": "0"}[d]
	case pgNumberRe.MatchString(d):
		d = strings.Trim(strings.SplitN(d, "::", 2)[0], "()")
		return d
	case c.Kind == KBytes:
		return ""
	}
	if mm := pgLiteralRe.FindStringSubmatch(d); mm != nil {
		return "'" + strings.ReplaceAll(strings.ReplaceAll(mm[1], "''", "'"), `\`, `\\`) + "'"
	}
	return ""
}
