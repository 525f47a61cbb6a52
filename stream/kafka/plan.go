package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"ferry/conf"
	"ferry/task"
)

// Plan is what a stream job moves, as found on both clusters: the source
// topics that topics= matches, with their partitions, configs and
// offsets, what the destination has of each, and the consumer groups
// that consumerGroups= matches.
type Plan struct {
	Topics []TopicPlan
	Groups []string
}

// TopicPlan is one source topic and its destination.
type TopicPlan struct {
	Name       string
	Partitions []PartPlan
	// Configs are the configs set on the source topic (not defaults),
	// which the destination topic is created with.
	Configs map[string]*string
	// DestPartitions is the destination topic's partition count, 0 when
	// it does not exist yet.
	DestPartitions int
}

// PartPlan is one source partition: its log start offset, and its end
// for read_committed readers (the last stable offset) when planned.
type PartPlan struct {
	Partition  int32
	Start, End int64
}

// Errors of planning, which name the topic.
var (
	ErrNoTopic         = errors.New("topic is not on the source")
	ErrPartitionCount  = errors.New("destination topic has fewer partitions than the source")
	ErrNothingSelected = errors.New("topics= matches no topic on the source")
)

// CheckpointTopic is the destination topic where ferry commits, in the same
// transaction as the records, each partition's source position and offset
// mapping (checkpoint.go). topics= never matches it.
const CheckpointTopic = "__ferry_offsets"

// Discover finds what a job moves, changing nothing: the matching source
// topics (a name that is not there is ErrNoTopic), their partitions and
// offsets, the destination's topics (one with fewer partitions is
// ErrPartitionCount), and the matching groups.
func Discover(ctx context.Context, spec task.Spec) (*Plan, error) {
	src, dst := sidesOf(spec)
	sadm, err := src.admin(ctx)
	if err != nil {
		return nil, err
	}
	defer sadm.Close()
	dadm, err := dst.admin(ctx)
	if err != nil {
		return nil, err
	}
	defer dadm.Close()
	return discover(ctx, spec, src, sadm, dadm)
}

func discover(ctx context.Context, spec task.Spec, src side, sadm, dadm *kadm.Client) (*Plan, error) {
	all, err := sadm.ListTopics(ctx)
	if err != nil {
		return nil, src.wrap(fmt.Errorf("list topics: %w", err))
	}
	names, err := matchTopics(spec.Stream.Topics, all, src)
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	if len(names) == 0 {
		return p, nil
	}
	cfgs, err := sadm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return nil, src.wrap(fmt.Errorf("describe topic configs: %w", err))
	}
	starts, err := sadm.ListStartOffsets(ctx, names...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, src.wrap(fmt.Errorf("list start offsets: %w", err))
	}
	ends, err := sadm.ListCommittedOffsets(ctx, names...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, src.wrap(fmt.Errorf("list end offsets: %w", err))
	}
	dtopics, err := dadm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("destination: list topics: %w", err)
	}
	for _, n := range names {
		t := TopicPlan{Name: n, Configs: map[string]*string{}}
		for _, pd := range all[n].Partitions.Sorted() {
			s, _ := starts.Lookup(n, pd.Partition)
			e, _ := ends.Lookup(n, pd.Partition)
			t.Partitions = append(t.Partitions, PartPlan{Partition: pd.Partition, Start: s.Offset, End: e.Offset})
		}
		if rc, err := cfgs.On(n, nil); err == nil {
			for _, c := range rc.Configs {
				if c.Source == kmsg.ConfigSourceDynamicTopicConfig && !c.Sensitive {
					t.Configs[c.Key] = c.Value
				}
			}
		}
		if d, ok := dtopics[n]; ok && d.Err == nil {
			t.DestPartitions = len(d.Partitions)
			if t.DestPartitions < len(t.Partitions) {
				return nil, fmt.Errorf("%w: %q has %d partitions on the destination, %d on the source; each record keeps its partition number: add partitions there or delete the topic",
					ErrPartitionCount, n, t.DestPartitions, len(t.Partitions))
			}
		}
		p.Topics = append(p.Topics, t)
	}
	if len(spec.Stream.Groups) > 0 {
		groups, err := sadm.ListGroups(ctx)
		if err != nil {
			return nil, src.wrap(fmt.Errorf("list groups: %w", err))
		}
		res := compile(spec.Stream.Groups, false)
		for _, g := range groups.Groups() {
			if slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(g) }) {
				p.Groups = append(p.Groups, g)
			}
		}
		sort.Strings(p.Groups)
	}
	return p, nil
}

// matchTopics returns the source topics the patterns select, sorted: each
// literal name (which must exist) and every topic a pattern matches whole.
// Internal topics and ferry's own are never matched by a pattern.
func matchTopics(patterns []string, all kadm.TopicDetails, src side) ([]string, error) {
	set := map[string]bool{}
	for _, p := range patterns {
		if conf.IsTopicName(p) {
			if d, ok := all[p]; !ok || d.Err != nil {
				return nil, fmt.Errorf("%w: %q (topics= in the job; %s %s=%s)", ErrNoTopic, p, src.role, src.key, strings.Join(src.brokers, ","))
			}
			set[p] = true
		}
	}
	for _, re := range compile(patterns, true) {
		for n, d := range all {
			if !d.IsInternal && !strings.HasPrefix(n, "__") && re.MatchString(n) {
				set[n] = true
			}
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("%w (topics=%s)", ErrNothingSelected, strings.Join(patterns, ","))
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// compile compiles the patterns conf checked, anchored; for topics, the
// literal names are left out.
func compile(patterns []string, topics bool) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, p := range patterns {
		if topics && conf.IsTopicName(p) {
			continue
		}
		out = append(out, regexp.MustCompile(`^(?:`+p+`)$`))
	}
	return out
}

// Prepare makes the destination ready before anything is written: each
// missing topic is created with the source's partition count and
// configs, and ferry's checkpoint topic exists.
func Prepare(ctx context.Context, spec task.Spec, p *Plan) error {
	_, dst := sidesOf(spec)
	dadm, err := dst.admin(ctx)
	if err != nil {
		return err
	}
	defer dadm.Close()
	for _, t := range p.Topics {
		if t.DestPartitions > 0 {
			continue
		}
		_, err := dadm.CreateTopic(ctx, int32(len(t.Partitions)), -1, t.Configs, t.Name)
		if err != nil && !errors.Is(err, errTopicExists) {
			return dst.wrap(fmt.Errorf("create topic %q (%d partitions): %w", t.Name, len(t.Partitions), err))
		}
	}
	return ensureCheckpointTopic(ctx, dadm, dst)
}

// Units are the job's tasks: one per source partition (to the end planned
// when once, endless when continuous), then one per consumer group.
func (p *Plan) Units(continuous bool) (parts, groups []task.Unit) {
	for _, t := range p.Topics {
		for _, pp := range t.Partitions {
			end := pp.End
			if continuous {
				end = -1
			}
			parts = append(parts, task.Unit{Topic: t.Name, Partition: pp.Partition, Start: pp.Start, End: end})
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Key() < parts[j].Key() })
	for _, g := range p.Groups {
		groups = append(groups, task.Unit{Group: g})
	}
	return parts, groups
}
