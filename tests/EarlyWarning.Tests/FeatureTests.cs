using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;

namespace Beacon.EarlyWarning.Tests;

public sealed class FeatureTests
{
    private static float F(float[] f, string name) => f[AttendanceFeatures.Set.IndexOf(name)];

    private static IEnumerable<SchoolDay> Days(string pattern, DateOnly monday)
    {
        // P present, A absent, E excused, T tardy; school days only (Mon–Fri).
        var date = monday;
        foreach (var c in pattern)
        {
            while (date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
            {
                date = date.AddDays(1);
            }
            yield return new SchoolDay(date, c switch { 'A' => "absent", 'E' => "excused-absent", 'T' => "tardy", _ => "present" });
            date = date.AddDays(1);
        }
    }

    [Fact]
    public void Attendance_features_count_windows_streaks_and_trend()
    {
        // 15 days: first 5 clean, then T, then absences clustering at the end.
        var f = AttendanceFeatures.Compute(Days("PPPPPTPPAPEPAAA", new DateOnly(2026, 9, 7)).Reverse());   // order must not matter
        Assert.Equal(AttendanceFeatures.Set.Count, f.Length);
        Assert.Equal(15, F(f, "days_enrolled"));
        Assert.Equal(5, F(f, "days_absent"));
        Assert.Equal(5f / 15, F(f, "absence_rate"), 5);
        Assert.Equal(4, F(f, "absent_last_5"));          // E P A A A
        Assert.Equal(5, F(f, "absent_last_10"));
        Assert.Equal(5f / 10 - 0f / 5, F(f, "recent_trend"), 5);
        Assert.Equal(3, F(f, "current_streak"));
        Assert.Equal(3, F(f, "longest_streak"));
        Assert.Equal(1, F(f, "tardies"));
        Assert.Equal(1, F(f, "excused_absences"));
        Assert.Equal(0, F(f, "days_since_last_absence"));
        Assert.Equal(3, F(f, "absence_episodes"));
    }

    [Fact]
    public void Explanations_are_counselor_sentences_not_feature_codes()
    {
        var f = AttendanceFeatures.Compute(Days("PPPPPPPPAPAPAAA", new DateOnly(2026, 9, 7)));
        var set = AttendanceFeatures.Set;
        Assert.Equal("missed 5 of the last 10 school days", set.Describe(set.IndexOf("absent_last_10"), f));
        Assert.Equal("absent the last 3 school day(s) in a row", set.Describe(set.IndexOf("current_streak"), f));
        Assert.Equal("no absence recorded yet", set.Describe(set.IndexOf("days_since_last_absence"), AttendanceFeatures.Compute(Days("PPPP", new DateOnly(2026, 9, 7)))));
    }

    [Theory]
    [InlineData("AAAAAPPPPPPPPPPPPPPP")]   // absent early, fine lately: "less often lately", "last absence 15 days ago"
    [InlineData("PPPPPPPPPPPPPPPAAAAA")]   // fine early, absent lately: "more often lately", "in a row"
    [InlineData("PPPPPPPPPPPPPPPPPPPP")]   // never absent: zero counts everywhere
    [InlineData("PTPEPAPPTPPAPPPEPPAP")]
    public void A_reason_never_contradicts_the_direction_it_is_shown_with_and_bookkeeping_or_zero_is_never_a_reason(string pattern)
    {
        var f = AttendanceFeatures.Compute(Days(pattern, new DateOnly(2026, 9, 7)));
        var set = AttendanceFeatures.Set;
        string[] reassuring = ["less often", "no absence", "present on the latest"];
        string[] worrying = ["more often", "in a row", "absent on the latest"];
        foreach (var (feature, index) in set.Features.Select((x, i) => (x, i)))
        {
            var words = set.Describe(index, f);
            foreach (var contribution in new[] { 0.3, -0.3 })
            {
                if (!feature.IsReason(f, set, contribution))
                {
                    continue;
                }
                Assert.NotEqual("days_enrolled", feature.Name);
                Assert.DoesNotMatch(@"(^|\D)0 (of|time|absence|separate|day)", words);
                Assert.DoesNotMatch("steady", words);
                if (contribution > 0)
                {
                    Assert.DoesNotContain(reassuring, w => words.Contains(w, StringComparison.Ordinal));
                }
                else
                {
                    Assert.DoesNotContain(worrying, w => words.Contains(w, StringComparison.Ordinal));
                }
            }
        }
        var trend = set.Features[set.IndexOf("recent_trend")];
        var lately = F(f, "recent_trend");
        // The trend is shown on the side its words say, and on that side only.
        Assert.Equal(lately > 0.005f, trend.IsReason(f, set, 0.3));
        Assert.Equal(lately < -0.005f, trend.IsReason(f, set, -0.3));
        Assert.False(set.Features[0].IsReason(f, set, 1));
        Assert.False(trend.IsReason(f, set, 0));
    }

    [Fact]
    public void A_feature_set_without_leanings_keeps_every_nonzero_contribution()
    {
        var plain = new FeatureSet("plain", [new FeatureDefinition("x", (_, _) => "x")]);
        Assert.True(plain.Features[0].IsReason([0f], plain, 0.1));
        Assert.True(plain.Features[0].IsReason([0f], plain, -0.1));
        Assert.False(plain.Features[0].IsReason([0f], plain, 0));
    }

    [Fact]
    public void No_days_gives_zeros_not_NaN()
    {
        Assert.All(AttendanceFeatures.Compute([]), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void The_indicator_baseline_is_the_ABC_rule()
    {
        var rule = AttendanceFeatures.IndicatorBaseline();
        Assert.False(rule.Flag(AttendanceFeatures.Compute(Days("APPPPPPP", new DateOnly(2026, 9, 7)))));     // 12.5 % but only 8 days
        Assert.True(rule.Flag(AttendanceFeatures.Compute(Days("APPPPPPPPP", new DateOnly(2026, 9, 7)))));    // 10 % of 10
        Assert.False(rule.Flag(AttendanceFeatures.Compute(Days("APPPPPPPPPP", new DateOnly(2026, 9, 7)))));  // 9 % of 11
    }

    [Fact]
    public void Oulad_features_use_nothing_after_day_60_and_split_by_presentation()
    {
        var folder = Path.Combine(Path.GetTempPath(), "beacon-tests", $"oulad-fixture-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "assessments.csv"), """
            "code_module","code_presentation","id_assessment","assessment_type","date","weight"
            "AAA","2013J","1","TMA","20","10"
            "AAA","2013J","2","TMA","50","20"
            "AAA","2013J","3","TMA","90","30"
            "AAA","2013J","4","Exam","?","100"
            "AAA","2014J","5","TMA","20","10"
            """);
        File.WriteAllText(Path.Combine(folder, "studentInfo.csv"), """
            "code_module","code_presentation","id_student","gender","region","highest_education","imd_band","age_band","num_of_prev_attempts","studied_credits","disability","final_result"
            "AAA","2013J","11","M","R","HE","90-100%","55<=","1","60","N","Withdrawn"
            "AAA","2013J","12","F","R","HE","90-100%","35-55","0","120","N","Pass"
            "AAA","2013J","13","F","R","HE","90-100%","35-55","0","60","N","Withdrawn"
            "AAA","2014J","14","F","R","HE","90-100%","35-55","0","60","N","Pass"
            """);
        File.WriteAllText(Path.Combine(folder, "studentRegistration.csv"), """
            "code_module","code_presentation","id_student","date_registration","date_unregistration"
            "AAA","2013J","11","-10","100"
            "AAA","2013J","12","-30","?"
            "AAA","2013J","13","-5","40"
            "AAA","2014J","14","-5","?"
            """);
        // Student 11: first on time (80), second 5 days late (30), third after the cut-off (must be ignored).
        File.WriteAllText(Path.Combine(folder, "studentAssessment.csv"), """
            id_student,id_assessment,date_submitted,is_banked,score
            11,1,18,0,80
            11,2,55,0,30
            11,3,70,0,100
            12,1,19,0,90
            12,2,49,0,?
            14,5,20,0,70
            """);
        var data = OuladDropout.Load(folder);
        Assert.Equal(2, data.Train.Count);    // 13 left on day 40: not predicted
        Assert.Single(data.Test);             // 2014J
        var s11 = data.Train.Single(e => e.Id.EndsWith("|11"));
        Assert.True(s11.Label);
        float Get(string name) => s11.Features[OuladDropout.Set.IndexOf(name)];
        Assert.Equal(2, Get("assessments_due"));           // the day-90 TMA and the exam are not due by day 60
        Assert.Equal(2, Get("assessments_submitted"));
        Assert.Equal(0, Get("assessments_missed"));
        Assert.Equal(1, Get("late_submissions"));
        Assert.Equal(55, Get("mean_score"));               // (80 + 30) / 2; the day-70 100 is unseen
        Assert.Equal(1, Get("failed_assessments"));
        Assert.Equal(80 * 0.1f + 30 * 0.2f, Get("weighted_marks"), 3);
        Assert.Equal(5, Get("days_since_last_submission"));
        Assert.Equal(1, Get("previous_attempts"));
        Assert.Equal(1, Get("module_AAA"));
        Assert.Equal(0, Get("module_BBB"));
        Assert.Equal(1, Get("submitted_days_0_30"));
        Assert.Equal(1, Get("submitted_days_31_60"));
        var s12 = data.Train.Single(e => e.Id.EndsWith("|12"));
        Assert.Equal(90, s12.Features[OuladDropout.Set.IndexOf("mean_score")]);   // the unmarked hand-in counts as handed in, not marked
        Assert.Equal(2, s12.Features[OuladDropout.Set.IndexOf("assessments_submitted")]);
        Assert.True(OuladDropout.Baseline.Flag(s11.Features));   // a failed assessment
        Assert.False(OuladDropout.Baseline.Flag(s12.Features));
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void The_simulator_is_seeded_and_plants_a_drifting_risk()
    {
        var a = new AttendanceSimulator(5).Generate(300, new DateOnly(2025, 9, 1));
        var b = new AttendanceSimulator(5).Generate(300, new DateOnly(2025, 9, 1));
        Assert.Equal(a.Select(s => s.TermAbsenceRate), b.Select(s => s.TermAbsenceRate));
        Assert.All(a, s => Assert.Equal(90, s.Days.Count));
        Assert.DoesNotContain(a.SelectMany(s => s.Days), d => d.Date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday);
        var chronicShare = a.Average(s => s.TermAbsenceRate >= 0.10 ? 1.0 : 0.0);
        Assert.InRange(chronicShare, 0.10, 0.45);   // a realistic range for US chronic absence, not 0 or everyone
        // Students who slide (positive drift) end the term absent more often than those who recover.
        Assert.True(a.Where(s => s.WeeklyDrift > 0.05).Average(s => s.TermAbsenceRate) > a.Where(s => s.WeeklyDrift < -0.05).Average(s => s.TermAbsenceRate));
    }
}
