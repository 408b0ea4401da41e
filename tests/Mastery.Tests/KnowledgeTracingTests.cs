using Beacon.Mastery.Domain;

namespace Beacon.Mastery.Tests;

public class KnowledgeTracingTests
{
    private static readonly BktParameters P = new(PriorKnowledge: 0.3, Learn: 0.15, Guess: 0.2, Slip: 0.1);

    [Fact]
    public void A_correct_answer_follows_bayes_rule_then_the_learning_step()
    {
        // posterior = 0.3*0.9 / (0.3*0.9 + 0.7*0.2) = 0.27/0.41; then + (1 - posterior) * 0.15
        var posterior = 0.27 / 0.41;
        Assert.Equal(posterior + (1 - posterior) * 0.15, KnowledgeTracing.Update(0.3, correct: true, P), 12);
    }

    [Fact]
    public void A_wrong_answer_lowers_mastery_and_a_run_of_correct_answers_reaches_mastery()
    {
        Assert.True(KnowledgeTracing.Update(0.6, correct: false, P) < 0.6);
        var p = P.PriorKnowledge;
        var steps = 0;
        while (p < 0.95)
        {
            p = KnowledgeTracing.Update(p, correct: true, P);
            steps++;
        }
        Assert.InRange(steps, 2, 6);
    }
}
