namespace Beacon.Mastery.Domain;

/// <summary>Quality of probabilistic predictions of correct / wrong answers.</summary>
public static class PredictionMetrics
{
    /// <summary>Area under the ROC curve (Mann-Whitney, ties counted half).</summary>
    public static double Auc(IReadOnlyList<double> predicted, IReadOnlyList<bool> actual)
    {
        var order = Enumerable.Range(0, predicted.Count).OrderBy(i => predicted[i]).ToArray();
        double positives = actual.Count(a => a), negatives = actual.Count - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }
        double rankSum = 0;
        var i = 0;
        while (i < order.Length)
        {
            var j = i;
            while (j + 1 < order.Length && predicted[order[j + 1]] == predicted[order[i]])
            {
                j++;
            }
            var averageRank = (i + j) / 2.0 + 1;
            for (var k = i; k <= j; k++)
            {
                if (actual[order[k]])
                {
                    rankSum += averageRank;
                }
            }
            i = j + 1;
        }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    public static double Rmse(IReadOnlyList<double> predicted, IReadOnlyList<bool> actual) =>
        Math.Sqrt(predicted.Select((p, i) => Math.Pow(p - (actual[i] ? 1 : 0), 2)).Average());
}
